"""How the console's writes answer, the same on every page: call one service, turn its
refusal into a message and a status, and answer an htmx request with the fragment that
changed (plus events) and a plain form post with a message and a redirect (a 403 page when
refused), so every page also works without JavaScript."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Model, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, resolve_url

from controlplane.web.pages import is_htmx, page

M = TypeVar("M", bound=Model)
REFUSED = "web/refused.html"


@dataclass(frozen=True)
class Refusal:
    """A service said no: what to tell the person, and the HTTP status for it."""

    message: str
    status: int

    def __str__(self) -> str:
        return self.message


def attempt(service: Callable[..., object], **kwargs: Any) -> Refusal | None:
    """Call ``service``; a refusal becomes what to show (None: it worked)."""
    try:
        service(**kwargs)
    except PermissionDenied as exc:
        return Refusal(str(exc) or "not allowed", 403)
    except ValidationError as exc:
        return Refusal(" ".join(exc.messages), 409)
    return None


def one_or_404(visible: QuerySet[M], pk: object, *, what: str) -> M:
    """The row ``pk`` among those the viewer may read; anyone else's is 404, as if it did
    not exist."""
    try:
        return visible.get(pk=pk)
    except visible.model.DoesNotExist:
        raise Http404(f"no such {what}") from None


def answer(
    request: HttpRequest,
    error: Refusal | None,
    *,
    success: str,
    fragment: tuple[str, dict[str, Any]],
    fallback: str,
    changed: str,
) -> HttpResponse:
    """The answer to a write. Plain form posts: a message and a redirect to ``fallback``.
    htmx: the changed ``fragment`` (with the refusal, if any), plus events: one that says
    what happened (the page's live region reads it out), and on success the ``changed``
    events that make the page's other sections refresh."""
    message = success if error is None else error.message
    if not is_htmx(request):
        if error is not None and error.status == 403:
            # A refusal keeps its status for a plain post too: a page saying why, not a redirect.
            context = {"message": message, "back": resolve_url(fallback)}
            return page(request, REFUSED, context, status=403)
        (messages.success if error is None else messages.error)(request, message)
        return redirect(fallback)
    template, context = fragment
    status = 200 if error is None else error.status
    response = page(request, template, {**context, "error": error}, status=status)
    events: dict[str, object] = {"gatehouse-status": {"message": message, "ok": error is None}}
    if error is None:
        events.update(dict.fromkeys(changed.split(), True))
    response["HX-Trigger"] = json.dumps(events)
    return response
