"""Canned replies ("réponses types"): placeholders filled (and escaped on the page),
unknown ones refused, only those of the ticket's queue (and motif) offered and accepted,
their use counted, the follow-up link put in the e-mail when it leaves; managed by
supervisors only."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from tests.factories import TicketFactory
from tickets.canned import FOLLOWUP_IN_MESSAGE, canned_reply_fill
from tickets.exceptions import ActionNotAllowed
from tickets.models import CannedReply, MessageKind, Motif, Queue, Status
from tickets.services import canned_reply_create, ticket_reply

pytestmark = pytest.mark.django_db

BODY = (
    "Bonjour {demandeur},\n\nNous avons bien reçu votre demande {reference} pour "
    "l'établissement {denomination}.\nSuivez-la ici : {lien_de_suivi}"
)


def canned(queue=None, *, motif="", title="Accusé de traitement", body=BODY, active=True):
    now = timezone.now()
    return CannedReply.objects.create(
        queue=queue or Queue.objects.get(slug="habilitation"),
        motif=motif,
        title=title,
        body=body,
        is_active=active,
        created_at=now,
        updated_at=now,
    )


def page(client, ticket, **params) -> str:
    response = client.get(reverse("backoffice:ticket_detail", args=[ticket.pk]), params)
    assert response.status_code == 200
    return response.content.decode()


def reply_box(html: str) -> str:
    return re.search(r'<textarea[^>]*id="reply-body"[^>]*>(.*?)</textarea>', html, re.S).group(1)


# --- Placeholders ----------------------------------------------------------------------------


def test_placeholders_are_filled_with_the_tickets_values_and_the_link_kept_for_the_email():
    ticket = TicketFactory(
        reference="AP-2026-000777", requester_name="Claire Dupont", denomination="Fournil SARL"
    )
    assert canned_reply_fill(BODY, ticket=ticket) == (
        "Bonjour Claire Dupont,\n\nNous avons bien reçu votre demande AP-2026-000777 pour "
        "l'établissement Fournil SARL.\nSuivez-la ici : {lien_de_suivi}"
    )


def test_a_script_in_the_denomination_is_escaped_on_the_page(agent, verified_client):
    ticket = TicketFactory(denomination='<script>alert("x")</script> SARL')
    reply = canned(body="Votre établissement {denomination} est bien enregistré.")
    html = page(verified_client(agent), ticket, reponse_type=reply.pk)
    assert '<script>alert("x")</script>' not in html
    expected = "Votre établissement &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; SARL"
    assert reply_box(html) == expected + " est bien enregistré."
    # The same text in the <template> that JavaScript inserts, escaped too.
    assert (
        f'<template id="canned-reply-{reply.pk}" data-title="Accusé de traitement">{expected}'
        in html
    )
    assert html.count(expected) == 2


def test_an_unknown_placeholder_is_a_french_error_and_the_text_is_kept(supervisor, verified_client):
    client = verified_client(supervisor)
    queue = Queue.objects.get(slug="habilitation")
    typed = "Bonjour {nom_du_demandeur}, votre demande {reference} est traitée."
    response = client.post(
        reverse("backoffice:canned_reply_create"),
        {"queue": queue.pk, "motif": "", "title": "Traitée", "body": typed},
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "Champ inconnu : {nom_du_demandeur}." in html
    assert "Champs possibles : {reference}, {denomination}, {demandeur}, {lien_de_suivi}." in html
    assert typed in html  # nothing lost
    assert not CannedReply.objects.exists()
    with pytest.raises(Exception, match="Champ inconnu : {ref}"):
        canned_reply_create(actor=supervisor, queue=queue, motif="", title="T", body="{ref}")


# --- What is offered ---------------------------------------------------------------------------


def test_only_the_active_replies_of_the_tickets_queue_and_motif_are_offered(agent, verified_client):
    ticket = TicketFactory(motif=Motif.HABILITATION_EXTRANET)
    general = Queue.objects.get(slug="general")
    every_motif = canned(title="Pour toute la file")
    this_motif = canned(title="Pour l'habilitation", motif=Motif.HABILITATION_EXTRANET)
    canned(title="Pour un autre motif", motif=Motif.AUTRES)
    canned(title="Désactivée", active=False)
    canned(general, title="Dans une autre file")
    html = page(verified_client(agent), ticket)
    offered = re.findall(r'<template id="canned-reply-(\d+)"', html)
    assert offered == [str(this_motif.pk), str(every_motif.pk)]  # by title
    assert "Pour toute la file" in html and "Pour l&#x27;habilitation" in html
    for hidden in ("Pour un autre motif", "Désactivée", "Dans une autre file"):
        assert hidden not in html


def test_a_canned_reply_of_another_queue_is_not_inserted(agent, verified_client):
    ticket = TicketFactory()
    other = canned(Queue.objects.get(slug="general"), body="Texte d'une autre file.")
    html = page(verified_client(agent), ticket, reponse_type=other.pk)
    assert "Cette réponse type n&#x27;est pas proposée pour ce ticket." in html
    assert reply_box(html) == ""
    assert "Texte d&#x27;une autre file." not in html


def test_a_canned_reply_of_another_queue_posted_with_a_reply_is_refused_and_nothing_lost(
    agent, verified_client
):
    ticket = TicketFactory(status=Status.EN_COURS, assignee=agent)
    other = canned(Queue.objects.get(slug="general"))
    client = verified_client(agent)
    typed = "Bonjour, voici ma réponse\nsur deux lignes."
    response = client.post(
        reverse("backoffice:ticket_reply", args=[ticket.pk]),
        {
            "reply-body": typed,
            "reply-version": ticket.version,
            "reply-canned_reply": other.pk,
            "reply-then": Status.RESOLU,
        },
    )
    assert response.status_code == 409
    html = response.content.decode()
    assert "Cette réponse type n&#x27;est pas proposée pour ce ticket" in html
    assert reply_box(html) == "Bonjour, voici ma réponse\nsur deux lignes."
    ticket.refresh_from_db()
    assert ticket.status == Status.EN_COURS
    assert not ticket.messages.filter(kind=MessageKind.REPLY).exists()
    assert mail.outbox == []
    other.refresh_from_db()
    assert other.usage_count == 0


# --- Sending ----------------------------------------------------------------------------------


def test_sending_counts_the_use_and_puts_the_followup_link_in_the_email(
    agent, verified_client, django_capture_on_commit_callbacks
):
    ticket = TicketFactory(reference="AP-2026-000888", status=Status.EN_COURS, assignee=agent)
    reply = canned()
    client = verified_client(agent)
    text = reply_box(page(client, ticket, reponse_type=reply.pk))
    assert text.endswith("Suivez-la ici : {lien_de_suivi}")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("backoffice:ticket_reply", args=[ticket.pk]),
            {"reply-body": text, "reply-version": ticket.version, "reply-canned_reply": reply.pk},
        )
    assert response.status_code == 302
    reply.refresh_from_db()
    assert reply.usage_count == 1
    [sent] = mail.outbox
    body = sent.body
    assert "Bonjour Claire Dupont," in body and "votre demande AP-2026-000888" in body
    assert "{lien_de_suivi}" not in body
    link = re.search(r"Suivez-la ici : (\S+)", body).group(1)
    assert re.fullmatch(r"https?://\S+/suivi/[\w-]{20,}/", link)
    # The link in the text is the one of the e-mail's own footer (one link per e-mail).
    assert body.count(link) == 2
    # The stored message (also on the requester's follow-up page) says where the link went.
    message = ticket.messages.get(kind=MessageKind.REPLY)
    assert message.body.endswith(f"Suivez-la ici : {FOLLOWUP_IN_MESSAGE}")


def test_usage_is_counted_with_f_so_two_sends_make_two(agent):
    reply = canned()
    for _ in range(2):
        ticket = TicketFactory()
        ticket_reply(ticket=ticket, actor=agent, body="Bonjour.", canned_reply_id=reply.pk)
    reply.refresh_from_db()
    assert reply.usage_count == 2


def test_a_canned_reply_of_another_motif_is_refused_by_the_service(agent):
    ticket = TicketFactory(motif=Motif.HABILITATION_EXTRANET)
    reply = canned(motif=Motif.AUTRES)
    with pytest.raises(ActionNotAllowed, match="autre file ou autre motif"):
        ticket_reply(ticket=ticket, actor=agent, body="Bonjour.", canned_reply_id=reply.pk)
    assert not ticket.messages.exists()


# --- Management ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, method, needs_pk",
    [
        ("canned_replies", "get", False),
        ("canned_reply_create", "get", False),
        ("canned_reply_create", "post", False),
        ("canned_reply_edit", "get", True),
        ("canned_reply_edit", "post", True),
        ("canned_reply_deactivate", "post", True),
    ],
)
def test_agents_cannot_manage_canned_replies(agent, verified_client, name, method, needs_pk):
    reply = canned()
    url = reverse(f"backoffice:{name}", args=[reply.pk] if needs_pk else [])
    data = {"queue": reply.queue_id, "title": "Changé", "body": "Changé", "is_active": ""}
    response = getattr(verified_client(agent), method)(url, data if method == "post" else None)
    assert response.status_code == 403
    reply.refresh_from_db()
    assert reply.title == "Accusé de traitement" and reply.is_active
    assert CannedReply.objects.count() == 1


def test_the_supervisor_creates_edits_and_deactivates(supervisor, verified_client):
    client = verified_client(supervisor)
    queue = Queue.objects.get(slug="habilitation")
    response = client.post(
        reverse("backoffice:canned_reply_create"),
        {
            "queue": queue.pk,
            "motif": Motif.HABILITATION_EXTRANET,
            "title": "Lien de réinitialisation",
            "body": "Bonjour {demandeur}, voici la marche à suivre.",
        },
    )
    assert response.status_code == 302
    reply = CannedReply.objects.get()
    assert (reply.queue, reply.motif, reply.created_by, reply.is_active) == (
        queue,
        Motif.HABILITATION_EXTRANET,
        supervisor,
        True,
    )
    listing = client.get(response["Location"]).content.decode()
    assert "Lien de réinitialisation" in listing and "Réponse type « Lien de" in listing

    response = client.post(
        reverse("backoffice:canned_reply_edit", args=[reply.pk]),
        {"queue": queue.pk, "motif": "", "title": "Lien (tous motifs)", "body": "Bonjour.",
         "is_active": "on"},
    )  # fmt: skip
    assert response.status_code == 302
    reply.refresh_from_db()
    assert (reply.title, reply.motif, reply.updated_by) == ("Lien (tous motifs)", "", supervisor)

    response = client.post(reverse("backoffice:canned_reply_deactivate", args=[reply.pk]))
    assert response.status_code == 302
    reply.refresh_from_db()
    assert not reply.is_active
    html = client.get(reverse("backoffice:canned_replies")).content.decode()
    assert "Inactive" in html and "Réactiver" in html


def test_the_supervisors_list_costs_the_same_queries_with_2_and_20_replies(
    supervisor, verified_client
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = verified_client(supervisor)
    url = reverse("backoffice:canned_replies")
    queues = list(Queue.objects.order_by("pk")[:2])

    def queries() -> tuple[int, str]:
        client.get(url)  # warm the per-session and per-process caches
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(url)
        assert response.status_code == 200
        return len(ctx.captured_queries), response.content.decode()

    for i in range(2):
        canned(queues[i % 2], title=f"Réponse {i:02d}")
    few, html = queries()
    assert "Réponse 01" in html
    for i in range(2, 20):
        canned(queues[i % 2], title=f"Réponse {i:02d}", active=i % 3 != 0)
    many, html = queries()
    assert all(f"Réponse {i:02d}" in html for i in range(20))
    assert many == few
