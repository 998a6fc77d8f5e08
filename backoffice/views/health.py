from django.http import JsonResponse
from django.views.decorators.http import require_GET


@require_GET
def liveness(request):
    """For load balancers: the process answers. Touches neither the database nor the
    cache; it is also the "bare Django JSON view" that `make bench` compares against."""
    return JsonResponse({"status": "ok"})
