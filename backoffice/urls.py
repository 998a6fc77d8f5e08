from django.contrib import admin
from django.urls import include, path

from .api import api
from .urls_extranet import backoffice_urlpatterns, public_urlpatterns
from .views import assistance, health

urlpatterns = [
    path("assistance/", assistance.assistance_request_create, name="assistance_request"),
    path("assistance/merci/", assistance.assistance_request_done, name="assistance_done"),
    path("healthz", health.liveness, name="liveness"),
    path("api/", api.urls),
    path("captcha/", include("captcha.urls")),
    path("admin/", admin.site.urls),
    path("backoffice/", include(backoffice_urlpatterns)),
    path("", include(public_urlpatterns)),
]

admin.site.site_header = "Assistance activité partielle — administration"
admin.site.site_title = "Administration"
