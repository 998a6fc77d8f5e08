from django.contrib import admin

from worker.audit import ReadOnlyAdmin

from .models import Establishment, EstablishmentChange, RegistryEstablishment


@admin.register(Establishment)
class EstablishmentAdmin(admin.ModelAdmin):
    list_display = ["siret", "denomination", "postal_code", "city", "registry_status"]
    search_fields = ["siret", "denomination"]


@admin.register(RegistryEstablishment)
class RegistryEstablishmentAdmin(admin.ModelAdmin):
    list_display = ["siret", "denomination", "administrative_status", "city"]
    search_fields = ["siret", "denomination"]
    show_full_result_count = False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(EstablishmentChange)
class EstablishmentChangeAdmin(ReadOnlyAdmin):
    # Written by the Establishment model's signals (establishments.receivers), never here.
    list_display = ["created_at", "establishment", "field", "before", "after", "actor_ref"]
    list_select_related = ["establishment"]
    search_fields = ["establishment__siret", "before", "after"]
