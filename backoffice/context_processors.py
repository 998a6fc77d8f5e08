from .selectors import notices_live


def live_notices(request):
    """The live incident notices, on every page (cached, see backoffice.selectors)."""
    return {"live_notices": notices_live}
