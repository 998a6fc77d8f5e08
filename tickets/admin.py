from django.contrib import admin

from worker.audit import ReadOnlyAdmin

from .models import Queue, RoutingRule, Ticket, TicketEvent


@admin.register(Queue)
class QueueAdmin(ReadOnlyAdmin):
    list_display = ["name", "slug", "is_default"]


@admin.register(RoutingRule)
class RoutingRuleAdmin(ReadOnlyAdmin):
    list_display = [
        "motif",
        "queue",
        "priority",
        "first_response_hours",
        "resolution_hours",
        "is_active",
    ]
    list_select_related = ["queue"]


class TicketEventInline(admin.TabularInline):
    model = TicketEvent
    fields = ["created_at", "kind", "actor", "data"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Ticket)
class TicketAdmin(admin.ModelAdmin):
    # Read-only: tickets change through the back-office services, which keep the timeline.
    list_display = ["reference", "motif", "queue", "status", "assignee", "created_at"]
    list_filter = ["queue", "status", "motif"]
    search_fields = ["reference", "siret", "email"]
    list_select_related = ["queue", "assignee"]
    show_full_result_count = False
    inlines = [TicketEventInline]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
