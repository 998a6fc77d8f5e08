from .notices.selectors import notices_live


def live_notices(request):
    """The live incident notices, on every page (cached, see backoffice.notices.selectors)."""
    return {"live_notices": notices_live}
