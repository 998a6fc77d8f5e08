from django.contrib import admin
from django.urls import include, path
from django_otp.admin import OTPAdminSite

from .api import api
from .urls_extranet import backoffice_urlpatterns, public_urlpatterns
from .views import assistance, health, siret_verification

# The Django admin requires a verified second factor too (django-otp): a password alone
# never opens it. Set before the admin's URLs are built.
admin.site.__class__ = OTPAdminSite

urlpatterns = [
    path("assistance/", assistance.assistance_request_create, name="assistance_request"),
    path("assistance/merci/", assistance.assistance_request_done, name="assistance_done"),
    path("healthz", health.liveness, name="liveness"),
    path("api/", api.urls),
    path("backoffice/", include("backoffice.urls_backoffice")),
    path(
        "backoffice/tickets/<int:pk>/verification-siret/",
        siret_verification.ticket_siret_verify_view,
        name="ticket_siret_verify",
    ),
    path("captcha/", include("captcha.urls")),
    path("admin/", admin.site.urls),
    path("backoffice/", include(backoffice_urlpatterns)),
    path("", include(public_urlpatterns)),
]

admin.site.site_header = "Assistance activité partielle — administration"
admin.site.site_title = "Administration"
