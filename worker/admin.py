from django.contrib import admin

from .audit import ReadOnlyAdmin
from .models import OutboxJob


@admin.register(OutboxJob)
class OutboxJobAdmin(ReadOnlyAdmin):
    list_display = ["pk", "kind", "template", "status", "attempts", "created_at", "sent_at"]
    list_filter = ["kind", "status", "template"]
    # The payload of a job may hold what a visitor typed, and e-mails carry addresses: the
    # list shows neither; the detail page is read-only.
    readonly_fields = [f.name for f in OutboxJob._meta.fields]
    show_full_result_count = False
