"""Reads on the back-office staff's own objects."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import QuerySet

from .models import PersonalToken

if TYPE_CHECKING:
    from accounts.staff.models import User


def personal_tokens_for_user(*, user: User) -> QuerySet[PersonalToken]:
    return PersonalToken.objects.filter(user=user).order_by("-created_at")
