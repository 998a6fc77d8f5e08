"""The root URLconf: the public side at ``/``, the agents' back-office under
``/backoffice/`` (namespace ``backoffice``), the API under ``/api/``, the admin."""

from django.contrib import admin
from django.urls import include, path
from django_otp.admin import OTPAdminSite

from .api import api
from .ops import views as ops
from .views import health

# The Django admin requires a verified second factor too (django-otp): a password alone
# never opens it. Set before the admin's URLs are built.
admin.site.__class__ = OTPAdminSite

urlpatterns = [
    path("healthz", health.liveness, name="liveness"),
    path("readyz", ops.readyz, name="readiness"),
    path("metrics", ops.metrics, name="metrics"),
    path("api/", api.urls),
    path("backoffice/", include("backoffice.urls_backoffice")),
    path("captcha/", include("captcha.urls")),
    path("admin/", admin.site.urls),
    path("", include("backoffice.public.urls")),
]

# French DSFR error pages (backoffice/public/errors.py).
handler400 = "backoffice.public.errors.bad_request"
handler403 = "backoffice.public.errors.permission_denied"
handler404 = "backoffice.public.errors.page_not_found"
handler500 = "backoffice.public.errors.server_error"

admin.site.site_header = "Assistance activité partielle — administration"
admin.site.site_title = "Administration"
