"""The development e-mail backend: one file per message under ``EMAIL_FILE_PATH``
(``var/mail/``), named so that a newcomer finds "the activation e-mail for Léa" by its name:

    20261202-153012-extranet_account_created-lea.martin@exemple.fr-42.eml

time, kind (the outbox row's template, else "courriel"), first recipient, outbox id. The
content is the message as sent (RFC 822), which any mail program opens.
"""

from __future__ import annotations

import re
from datetime import datetime
from email.utils import parseaddr
from pathlib import Path

from django.core.mail.backends.filebased import EmailBackend as FileEmailBackend

_UNSAFE = re.compile(r"[^A-Za-z0-9@._+-]+")


def _safe(text: str, default: str) -> str:
    cleaned = re.sub(r"\.{2,}", ".", _UNSAFE.sub("_", text or "")).strip("._")[:80]
    return cleaned or default


class NamedFileEmailBackend(FileEmailBackend):
    def _kind(self, message) -> str:
        outbox_id = message.extra_headers.get("X-Outbox-Id", "")
        if outbox_id.isdigit():
            from .models import OutboundEmail

            template = (
                OutboundEmail.objects.filter(pk=int(outbox_id))
                .values_list("template", flat=True)
                .first()
            )
            if template:
                return template
        return "courriel"

    def _path_for(self, message, sequence: int) -> Path:
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        recipient = _safe(parseaddr(message.to[0])[1] if message.to else "", "destinataire")
        suffix = message.extra_headers.get("X-Outbox-Id") or f"{id(message):x}{sequence}"
        name = f"{stamp}-{_safe(self._kind(message), 'courriel')}-{recipient}-{_safe(suffix, '0')}"
        return Path(self.file_path) / f"{name}.eml"

    def send_messages(self, email_messages):
        if not email_messages:
            return 0
        sent = 0
        with self._lock:
            for sequence, message in enumerate(email_messages):
                if not message.recipients():
                    continue
                path = self._path_for(message, sequence)
                path.write_bytes(message.message().as_bytes(linesep="\n"))
                sent += 1
        return sent
