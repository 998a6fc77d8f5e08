"""URLs of the extranet's public side (home, login, Créer mon espace, recovery links,
objection, assistance form). Not namespaced: e-mails and the extranet link to them."""

from django.urls import path

from . import assistance, extranet, pages, recovery, security_code, towns

urlpatterns = [
    path("", extranet.home, name="home"),
    path("espace/", extranet.extranet_space, name="extranet_space"),
    path("espace/deconnexion/", extranet.extranet_logout_view, name="extranet_logout"),
    path("creer-mon-espace/", extranet.space_create_start, name="space_create_start"),
    path("creer-mon-espace/etablissement/", extranet.space_create_form, name="space_create_form"),
    path(
        "creer-mon-espace/compte-existant/",
        extranet.space_create_known,
        name="space_create_known",
    ),
    path("creer-mon-espace/envoye/", extranet.space_create_done, name="space_create_done"),
    path("cgu/", extranet.cgu, name="cgu"),
    path("expert-comptable/", pages.accountant, name="accountant"),
    path("accessibilite/", pages.accessibility, name="accessibility"),
    path("mentions-legales/", pages.legal_notice, name="legal_notice"),
    path("donnees-personnelles/", pages.personal_data, name="personal_data"),
    path("cookies/", pages.cookies, name="cookies"),
    path("communes/", towns.postal_code_towns_view, name="postal_code_towns"),
    path("assistance/", assistance.assistance_request_create, name="assistance_request"),
    path("assistance/merci/", assistance.assistance_request_done, name="assistance_done"),
    path("compte/identifiant-oublie/", recovery.forgot_identifiant, name="forgot_identifiant"),
    path("compte/mot-de-passe-oublie/", recovery.forgot_password, name="forgot_password"),
    path("compte/demande-prise-en-compte/", recovery.recovery_requested, name="recovery_requested"),
    path("compte/activation/", recovery.activation_set_password, name="activation_set_password"),
    path("compte/activation/<str:token>/", recovery.activation_landing, name="activation_landing"),
    path("compte/reinitialisation/", recovery.reset_set_password, name="reset_set_password"),
    path("compte/reinitialisation/<str:token>/", recovery.reset_landing, name="reset_landing"),
    path("opposition/", recovery.objection, name="objection"),
    path("opposition/<str:token>/", recovery.objection_landing, name="objection_landing"),
    path(
        "code-de-securite/<str:key>.wav",
        security_code.security_code_audio,
        name="security_code_audio",
    ),
    path(
        "code-de-securite/nouveau/",
        security_code.security_code_refresh,
        name="security_code_refresh",
    ),
]
