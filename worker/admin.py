from django.contrib import admin

from .models import OutboundEmail


@admin.register(OutboundEmail)
class OutboundEmailAdmin(admin.ModelAdmin):
    list_display = ["pk", "template", "status", "attempts", "created_at", "sent_at"]
    list_filter = ["status", "template"]
    readonly_fields = [f.name for f in OutboundEmail._meta.fields]
    show_full_result_count = False

    def has_add_permission(self, request):
        return False
