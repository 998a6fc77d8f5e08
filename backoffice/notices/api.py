"""``GET /api/v1/notices/active``: the live incident notices, for the extranet. No auth;
cacheable (Cache-Control and a strong ETag; a matching If-None-Match answers 304)."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime

from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpResponse, HttpResponseNotModified
from django.utils.cache import patch_cache_control
from ninja import Router, Schema

from .selectors import notices_live

router = Router(tags=["Bandeaux d'incident"])

MAX_AGE_SECONDS = 30


class NoticeOut(Schema):
    id: int
    title: str
    text: str
    level: str
    link: str | None
    starts_at: datetime
    ends_at: datetime | None


@router.get(
    "/notices/active",
    response={200: list[NoticeOut], 304: None},
    summary="Bandeaux d'incident en cours",
    description="Les bandeaux publiés et non expirés. Réponse cacheable (ETag, 304).",
)
def notices_active(request):
    body = [{key: notice[key] for key in NoticeOut.model_fields} for notice in notices_live()]
    payload = json.dumps(body, cls=DjangoJSONEncoder, ensure_ascii=False, sort_keys=True)
    etag = '"' + hashlib.sha256(payload.encode()).hexdigest()[:32] + '"'
    if etag in [t.strip() for t in request.headers.get("If-None-Match", "").split(",")]:
        response = HttpResponseNotModified()
    else:
        response = HttpResponse(payload, content_type="application/json; charset=utf-8")
    response["ETag"] = etag
    patch_cache_control(response, public=True, max_age=MAX_AGE_SECONDS)
    return response
