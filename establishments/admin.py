from django.contrib import admin

from .models import Establishment, RegistryEstablishment


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
