"""The agents' back-office, under ``/backoffice/`` (namespace ``backoffice``)."""

from django.urls import path

from .views import (
    auth,
    canned_replies,
    dashboard,
    documents,
    nav,
    notices,
    queues,
    reassignments,
    routing,
    saved_views,
    search,
    siret_verification,
    tickets,
    tokens,
)

app_name = "backoffice"

urlpatterns = [
    path("", queues.home, name="home"),
    path("connexion/", auth.login_view, name="login"),
    path("connexion/code/", auth.otp_verify, name="otp_verify"),
    path("connexion/enrolement/", auth.otp_enrol, name="otp_enrol"),
    path("connexion/enrolement/<str:token>/", auth.otp_enrol_link, name="otp_enrol_link"),
    path("deconnexion/", auth.logout_view, name="logout"),
    path("files/<slug:slug>/", queues.queue_detail, name="queue"),
    path("files/<slug:slug>/export/<str:fmt>/", queues.queue_export, name="queue_export"),
    path("files/<slug:slug>/suivant/", queues.queue_take_next, name="queue_take_next"),
    path("recherche/", search.search, name="search"),
    path("mes-tickets/", queues.my_tickets, name="my_tickets"),
    path("mes-tickets/export/<str:fmt>/", queues.my_tickets_export, name="my_tickets_export"),
    path("non-assignes/", queues.unassigned, name="unassigned"),
    path("non-assignes/export/<str:fmt>/", queues.unassigned_export, name="unassigned_export"),
    path("tickets/actions-groupees/", queues.tickets_bulk, name="tickets_bulk"),
    path("tickets/<int:pk>/", tickets.ticket_detail, name="ticket_detail"),
    path(
        "tickets/<int:pk>/compte-extranet/",
        tickets.ticket_extranet_panel,
        name="ticket_extranet_panel",
    ),
    path("tickets/<int:pk>/prendre/", tickets.ticket_claim_view, name="ticket_claim"),
    path("tickets/<int:pk>/assigner/", tickets.ticket_assign_view, name="ticket_assign"),
    path("tickets/<int:pk>/statut/", tickets.ticket_status_view, name="ticket_status"),
    path("tickets/<int:pk>/note/", tickets.ticket_note_view, name="ticket_note"),
    path("tickets/<int:pk>/reponse/", tickets.ticket_reply_view, name="ticket_reply"),
    # The requester's side: documents, the request for evidence, a new follow-up link.
    path(
        "tickets/<int:pk>/documents/<int:document_id>/",
        documents.ticket_document_download,
        name="ticket_document_download",
    ),
    path(
        "tickets/<int:pk>/documents/<int:document_id>/apercu/",
        documents.ticket_document_preview,
        name="ticket_document_preview",
    ),
    path(
        "tickets/<int:pk>/documents/<int:document_id>/refuser/",
        documents.ticket_document_reject,
        name="ticket_document_reject",
    ),
    path(
        "tickets/<int:pk>/justificatifs/",
        documents.ticket_documents_request,
        name="ticket_documents_request",
    ),
    path(
        "tickets/<int:pk>/lien-de-suivi/",
        documents.ticket_followup_link_renew,
        name="ticket_followup_link_renew",
    ),
    path("tableau-de-bord/", dashboard.dashboard, name="dashboard"),
    path("tableau-de-bord/export.csv", dashboard.dashboard_export, name="dashboard_export"),
    path("routage/", routing.routing_home, name="routing"),
    path("routage/regles/<int:pk>/", routing.routing_rule_edit, name="routing_rule_edit"),
    path(
        "routage/files/<slug:slug>/agents/",
        routing.routing_queue_members,
        name="routing_queue_members",
    ),
    path("routage/apercu/", routing.routing_preview, name="routing_preview"),
    path("bandeaux/", notices.notice_list, name="notices"),
    path("bandeaux/nouveau/", notices.notice_create_view, name="notice_create"),
    path("bandeaux/apercu/", notices.notice_preview_view, name="notice_preview"),
    path("bandeaux/<int:pk>/", notices.notice_detail, name="notice_detail"),
    path("bandeaux/<int:pk>/modifier/", notices.notice_edit_view, name="notice_edit"),
    path("bandeaux/<int:pk>/programmer/", notices.notice_schedule_view, name="notice_schedule"),
    path(
        "bandeaux/<int:pk>/deprogrammer/", notices.notice_unschedule_view, name="notice_unschedule"
    ),
    path("bandeaux/<int:pk>/publier/", notices.notice_publish_view, name="notice_publish"),
    path("bandeaux/<int:pk>/retirer/", notices.notice_withdraw_view, name="notice_withdraw"),
    path(
        "bandeaux/<int:pk>/tickets-rattaches/", notices.notice_resolve_view, name="notice_resolve"
    ),
    path("jetons/", tokens.token_list, name="tokens"),
    path("jetons/<int:pk>/revoquer/", tokens.token_revoke, name="token_revoke"),
    path(
        "tickets/<int:pk>/verification-siret/",
        siret_verification.ticket_siret_verify_view,
        name="ticket_siret_verify",
    ),
    path("reattributions/", reassignments.reassignment_list_view, name="reassignment_list"),
    path(
        "reattributions/<int:pk>/",
        reassignments.reassignment_detail_view,
        name="reassignment_detail",
    ),
    path(
        "reattributions/<int:pk>/valider/",
        reassignments.reassignment_approve_view,
        name="reassignment_approve",
    ),
    path(
        "reattributions/<int:pk>/refuser/",
        reassignments.reassignment_reject_view,
        name="reassignment_reject",
    ),
    path(
        "reattributions/<int:pk>/annuler/",
        reassignments.reassignment_cancel_view,
        name="reassignment_cancel",
    ),
    path(
        "reattributions/<int:pk>/renvoyer-activation/",
        reassignments.reassignment_activation_resend_view,
        name="reassignment_activation_resend",
    ),
    path(
        "demandes/<str:reference>/reattribution/",
        reassignments.reassignment_prepare_view,
        name="reassignment_prepare",
    ),
    # Saved views of the ticket lists, and the columns an agent shows (issue 13).
    path("vues/", nav.saved_views_menu, name="saved_views"),
    path("vues/nouvelle/", saved_views.saved_view_create_view, name="saved_view_create"),
    path("vues/<int:pk>/", saved_views.saved_view, name="saved_view"),
    path("vues/<int:pk>/renommer/", saved_views.saved_view_rename_view, name="saved_view_rename"),
    path("vues/<int:pk>/supprimer/", saved_views.saved_view_delete_view, name="saved_view_delete"),
    path("vues/<int:pk>/partager/", saved_views.saved_view_share_view, name="saved_view_share"),
    path("colonnes/", queues.list_columns, name="list_columns"),
    path("reponses-types/", canned_replies.canned_reply_list, name="canned_replies"),
    path(
        "reponses-types/nouvelle/",
        canned_replies.canned_reply_create_view,
        name="canned_reply_create",
    ),
    path(
        "reponses-types/<int:pk>/", canned_replies.canned_reply_edit_view, name="canned_reply_edit"
    ),
    path(
        "reponses-types/<int:pk>/desactiver/",
        canned_replies.canned_reply_deactivate_view,
        name="canned_reply_deactivate",
    ),
]
