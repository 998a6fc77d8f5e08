"""Reads on the back-office staff's own objects."""

from __future__ import annotations

from django.db.models import QuerySet

from .models import PersonalToken


def personal_tokens_for_user(*, user) -> QuerySet[PersonalToken]:
    return PersonalToken.objects.filter(user=user).order_by("-created_at")
