from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from worker.audit import ReadOnlyAdmin

from .models import (
    AccountReassignment,
    ApiKey,
    ExtranetAccount,
    ExtranetHolderHistory,
    PersonalToken,
    RecoveryLink,
    StaffChange,
    StaffEnrolmentLink,
    User,
)
from .staff.services import api_key_create, api_key_revoke, personal_token_revoke


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    ordering = ["last_name", "first_name"]
    list_display = ["email", "first_name", "last_name", "role", "is_active"]
    list_filter = ["role", "is_active"]
    search_fields = ["email", "first_name", "last_name"]
    fieldsets = [
        (None, {"fields": ["email", "password"]}),
        ("Identité", {"fields": ["first_name", "last_name"]}),
        ("Rôle", {"fields": ["role", "is_active", "is_superuser"]}),
    ]
    add_fieldsets = [
        (
            None,
            {
                "classes": ["wide"],
                "fields": ["email", "first_name", "last_name", "role", "password1", "password2"],
            },
        )
    ]
    filter_horizontal = []


@admin.register(ExtranetAccount)
class ExtranetAccountAdmin(admin.ModelAdmin):
    # Holder changes go through the guarded reassignment workflow, never through the admin.
    list_display = ["identifiant", "establishment", "holder_last_name", "is_active"]
    search_fields = ["identifiant", "establishment__siret", "holder_last_name"]
    list_select_related = ["establishment"]
    readonly_fields = [f.name for f in ExtranetAccount._meta.fields if f.name != "password"]
    exclude = ["password", "secret_answer_hash"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ["name", "prefix", "created_at", "last_used_at", "revoked_at"]
    fields = ["name"]
    actions = ["revoke"]

    def has_change_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        key, raw = api_key_create(name=form.cleaned_data["name"])
        obj.pk = key.pk
        self.message_user(
            request,
            f"Clé créée pour « {key.name} ». Copiez-la maintenant, "
            f"elle ne sera plus affichée : {raw}",
            messages.WARNING,
        )

    @admin.action(description="Révoquer les clés sélectionnées")
    def revoke(self, request, queryset):
        for key in queryset:
            api_key_revoke(key=key)


@admin.register(PersonalToken)
class PersonalTokenAdmin(admin.ModelAdmin):
    # Agents create their tokens in the back-office; the admin only lists and revokes.
    list_display = ["name", "user", "prefix", "created_at", "last_used_at", "revoked_at"]
    list_select_related = ["user"]
    search_fields = ["name", "user__email", "prefix"]
    actions = ["revoke"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.action(description="Révoquer les jetons sélectionnés")
    def revoke(self, request, queryset):
        for token in queryset:
            personal_token_revoke(user=token.user, token_id=token.pk)


@admin.register(RecoveryLink)
class RecoveryLinkAdmin(ReadOnlyAdmin):
    list_display = [
        "pk",
        "account",
        "purpose",
        "created_at",
        "sent_at",
        "used_at",
        "revoked_at",
        "expires_at",
    ]
    list_filter = ["purpose"]
    search_fields = ["account__identifiant", "account__establishment__siret"]
    list_select_related = ["account"]
    exclude = ["token_hash"]


@admin.register(AccountReassignment)
class AccountReassignmentAdmin(ReadOnlyAdmin):
    list_display = [
        "pk",
        "ticket",
        "account",
        "state",
        "prepared_by",
        "approved_by",
        "apply_after",
        "applied_at",
    ]
    list_filter = ["state"]
    search_fields = ["ticket__reference", "account__identifiant", "account__establishment__siret"]
    list_select_related = ["ticket", "account", "prepared_by", "approved_by"]
    exclude = ["previous_holder_objection_hash", "establishment_objection_hash"]


@admin.register(ExtranetHolderHistory)
class ExtranetHolderHistoryAdmin(ReadOnlyAdmin):
    list_display = ["account", "previous_email", "new_email", "changed_at"]
    search_fields = ["account__identifiant"]
    list_select_related = ["account"]


@admin.register(StaffChange)
class StaffChangeAdmin(ReadOnlyAdmin):
    # Written by the User model's signals (accounts.staff.receivers), never here.
    list_display = ["created_at", "user_email", "kind", "data", "actor_ref"]
    list_filter = ["kind"]
    search_fields = ["user_email", "actor_ref"]


@admin.register(StaffEnrolmentLink)
class StaffEnrolmentLinkAdmin(ReadOnlyAdmin):
    list_display = ["user", "created_at", "sent_at", "used_at", "revoked_at", "expires_at"]
    list_select_related = ["user"]
    exclude = ["token_hash"]
