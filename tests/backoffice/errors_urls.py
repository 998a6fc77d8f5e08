"""A URLconf for the error-page tests: the real one, plus views that fail on purpose."""

from django.core.exceptions import PermissionDenied, SuspiciousOperation
from django.urls import path

from backoffice.urls import (  # noqa: F401 - the handlers are what is tested
    handler400,
    handler403,
    handler404,
    handler500,
)
from backoffice.urls import urlpatterns as real_urlpatterns

SECRET_DETAIL = "internal-detail-db-password-hunter2"


def bad_request(request):
    raise SuspiciousOperation(SECRET_DETAIL)


def forbidden(request):
    raise PermissionDenied(SECRET_DETAIL)


def crash(request):
    raise RuntimeError(SECRET_DETAIL)


urlpatterns = [
    path("test-errors/400/", bad_request),
    path("test-errors/403/", forbidden),
    path("test-errors/500/", crash),
    *real_urlpatterns,
]
