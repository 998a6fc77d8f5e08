"""Audit rows: written once, never updated or deleted.

The ticket timeline, the notices' history and the routing changes are each their own table
(they are read by different pages), but they share this guarantee. ``save`` and ``delete``
refuse to change an existing row; ``QuerySet.update`` / ``delete`` are not covered, so the
services that write these rows never call them.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db import models
from django.http import HttpRequest


class AppendOnlyError(Exception):
    pass


class AppendOnlyModel(models.Model):
    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AppendOnlyError(f"{type(self).__name__} rows are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise AppendOnlyError(f"{type(self).__name__} rows are append-only.")


class ReadOnlyAdmin(admin.ModelAdmin):
    """The admin's view of rows that only services write (audit rows, routing rules and
    memberships, recovery links, reassignments): shown, never added, changed or deleted
    there, so that every change goes through a service that records who made it."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
