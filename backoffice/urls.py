from django.contrib import admin
from django.urls import include, path

from .api import api
from .views import assistance, siret_verification

urlpatterns = [
    path("assistance/", assistance.assistance_request_create, name="assistance_request"),
    path("assistance/merci/", assistance.assistance_request_done, name="assistance_done"),
    # SIRET verification on a ticket (the lead moves it under the back-office's ticket URLs).
    path(
        "tickets/<int:pk>/verification-siret/",
        siret_verification.ticket_siret_verify_view,
        name="ticket_siret_verify",
    ),
    path("api/", api.urls),
    path("captcha/", include("captcha.urls")),
    path("admin/", admin.site.urls),
]

admin.site.site_header = "Assistance activité partielle — administration"
admin.site.site_title = "Administration"
