"""One admitted request on an http or llm resource: its checks, the upstream call, the relay.

    checks: path (400) -> rules (403) -> declared size (413) -> budget (429)
    body:   streamed upstream, or read whole when it may be replayed (OAuth retry) or
            rewritten (a model call's prompt masking)
    upstream (credential injected) -> 401 on OAuth: new token, one retry
    relay:  raw bytes chunk by chunk | masked whole (masked sessions) | through the model
            call (llm)

Whatever happens, ``record`` ends up describing the exchange for the audit trail; an answer
the gateway makes itself is in the resource's error shape. Once the response has started, a
failure can only cut it: the connection closes (``cut`` is set).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from dataplane.contract import HttpAuth, HttpSettings, PromptPrivacy, ResourceSpec
from dataplane.core.addons import HttpExchange, LlmCall
from dataplane.core.session import Session
from dataplane.llm import LlmRequestError
from dataplane.protocols.http import errors
from dataplane.protocols.http.body_masking import CannotMask, check_maskable, mask_body
from dataplane.protocols.http.client_io import BodyCount, BodyRefused, ClientIO
from dataplane.protocols.http.credentials import CredentialUnavailable
from dataplane.protocols.http.errors import GatewayAnswer
from dataplane.protocols.http.gateway import HttpGateway
from dataplane.protocols.http.headers import client_response_headers, upstream_request_headers
from dataplane.protocols.http.layer import Headers, Phase, RequestHead
from dataplane.protocols.http.model_calls import ModelCall
from dataplane.protocols.http.routing import BadTarget, Target, route, upstream_url
from dataplane.protocols.http.rules import check_rules
from dataplane.protocols.http.upstream import BROKEN_OFF, Body, UpstreamFailed, UpstreamResponse

EXCERPT_BYTES = 2048
NO_BODY_STATUSES = frozenset({204, 304})


class ResponseCut(Exception):
    """The response had started and cannot be finished (too large, upstream broke off)."""


@dataclass
class ExchangeRecord:
    """What the audit trail will say about the exchange, filled in as it goes."""

    method: str
    path: str
    started: float = field(default_factory=time.monotonic)
    status: int = 0
    request: BodyCount = field(default_factory=BodyCount)
    response: BodyCount = field(default_factory=BodyCount)
    textual_request: bool = False
    textual_response: bool = False
    refused_by: str = ""
    error: str = ""
    llm: LlmCall | None = None

    def finished(self) -> HttpExchange:
        return HttpExchange(
            method=self.method,
            path=self.path,
            status=self.status,
            request_bytes=self.request.size,
            response_bytes=self.response.size,
            duration_s=time.monotonic() - self.started,
            refused_by=self.refused_by,
            error=self.error,
            request_excerpt=_excerpt(self.request.head, self.textual_request and not self.llm),
            response_excerpt=_excerpt(self.response.head, self.textual_response and not self.llm),
            llm=self.llm,
        )


class Exchange:
    """One request, admitted for ``session`` on its resource."""

    def __init__(
        self,
        services: HttpGateway,
        io: ClientIO,
        session: Session,
        head: RequestHead,
        *,
        close_after: bool,
    ) -> None:
        assert session.resource is not None
        self.services = services
        self.io = io
        self.session = session
        self.head = head
        self.resource: ResourceSpec = session.resource
        self.settings: HttpSettings = session.resource.http or HttpSettings()
        self.close_after = close_after
        self.record = ExchangeRecord(method=head.method, path=_unrouted_path(head.target))
        self.record.textual_request = _textual(head.header("content-type"))
        self.cut = False

    async def run(self) -> None:
        """Answer the request (relayed or refused); never raises for the upstream's or the
        request's faults, only for the client's (ClientGone) and cancellation."""
        try:
            target = route(self.head.target)
        except BadTarget as exc:
            await self.answer(GatewayAnswer(400, str(exc), "bad_request"))
            return
        self.record.path = target.path_and_query
        try:
            refusal = self._refusal(target)
            if refusal is not None:
                await self.answer(refusal)
                return
            await self._relay(target)
        except BodyRefused as refused:
            await self.answer(GatewayAnswer(refused.status, refused.message, refused.refused_by))
        except LlmRequestError as exc:
            await self.answer(GatewayAnswer(exc.status, exc.message, "bad_request", exc.kind))
        except UpstreamFailed as failed:
            await self.answer(GatewayAnswer(failed.status, failed.message, failed.refused_by))
        except CredentialUnavailable as exc:
            self.record.error = str(exc)
            message = f'the gateway could not get a credential for resource "{self.resource.name}"'
            await self.answer(GatewayAnswer(502, message, "upstream"))
        except CannotMask as exc:
            await self.answer(GatewayAnswer(502, f"response refused: {exc}", "masking"))
        except ResponseCut as exc:
            self.record.error = self.record.error or str(exc)
            self.cut = True

    # -- checks ------------------------------------------------------------------------------
    def _refusal(self, target: Target) -> GatewayAnswer | None:
        """The first check that refuses the request, if any."""
        settings, head = self.settings, self.head
        ruled = check_rules(settings, head.method, target.path)
        if ruled is not None:
            return GatewayAnswer(403, ruled.message, ruled.refused_by, "permission_error")
        if head.content_length is not None and head.content_length > settings.max_request_bytes:
            message = f"the request body is larger than {settings.max_request_bytes} bytes"
            return GatewayAnswer(413, message, "request_size", "request_too_large")
        self.io.layer.limit_body(settings.max_request_bytes)
        return self._over_budget()

    def _over_budget(self) -> GatewayAnswer | None:
        assert self.session.identity is not None
        refusal = self.services.budgets.check(
            identity=self.session.identity.sub,
            resource=self.resource.name,
            settings=self.settings,
            now=time.monotonic(),
        )
        if refusal is None:
            return None
        return GatewayAnswer(
            refusal.status,
            refusal.message,
            refusal.refused_by,
            refusal.kind,
            retry_after_s=refusal.retry_after_s,
        )

    # -- the upstream call -------------------------------------------------------------------
    async def _relay(self, target: Target) -> None:
        model = self.services.open_model_call(self.settings, self.head, target, self.session)
        if model is None and self._unguarded_prompt():
            message = (
                f"{self.head.method} {target.path} is not a model call the gateway can apply "
                "this resource's prompt privacy to; it was not sent (prompt privacy covers "
                "Chat Completions, Responses and Messages)"
            )
            await self.answer(GatewayAnswer(400, message, "prompt_privacy"))
            return
        masked = self.session.masker is not None and model is None
        body = await self._request_body(model)
        request_headers = upstream_request_headers(
            self.head.headers,
            credential_header=self.settings.auth_header,
            identity_encoding=model is not None or masked,
        )
        url = upstream_url(self.resource, self.settings, target)
        response = await self._send(url, request_headers, body)
        try:
            if model is not None:
                await self._relay_model(response, model)
            elif (
                masked
                and self.head.method != "HEAD"
                and response.status_code not in NO_BODY_STATUSES
            ):
                await self._relay_masked(response)
            else:
                await self._relay_raw(response)
        finally:
            await response.aclose()
            self._spend_budget()  # a cut response used the upstream all the same

    def _unguarded_prompt(self) -> bool:
        """A body on an llm resource with prompt privacy on, in a request that is no model
        call the LLM layer reads (an embeddings input, say): the body could carry PII the
        resource promised never to send, so it is refused rather than relayed (fail closed)."""
        settings, head = self.settings, self.head
        if self.resource.protocol != "llm" or settings.prompt_privacy == PromptPrivacy.OFF:
            return False
        return bool(head.content_length or head.header("transfer-encoding"))

    async def _request_body(self, model: ModelCall | None) -> Body:
        """The body as it goes upstream: whole when it may be replayed or rewritten,
        streamed otherwise (none at all when the request declares none)."""
        io, keep = self.io, EXCERPT_BYTES
        declares_body = self.head.content_length or self.head.header("transfer-encoding")
        replayable = model is not None or self.settings.auth == HttpAuth.OAUTH_CLIENT_CREDENTIALS
        if not declares_body or replayable:
            body = await io.whole_body(self.record.request, keep)
            return model.request(body) if model is not None else body
        return io.body(self.record.request, keep)

    async def _send(self, url: str, headers: Headers, body: Body) -> UpstreamResponse:
        """Send with the resource's credential; on an OAuth 401, once more with a fresh
        token (only a body read whole can be sent twice)."""
        credentials, resource, settings = self.services.credentials, self.resource, self.settings
        if not isinstance(body, bytes) and self.head.content_length is not None:
            # A streamed body keeps the length the client declared (else it goes chunked).
            headers = [*headers, ("content-length", str(self.head.content_length))]
        credential = await credentials.header(resource, settings)
        response = await self._send_once(url, _with(headers, credential), body)
        if response.status_code != 401 or credential is None or not isinstance(body, bytes):
            return response
        fresh = await credentials.after_rejection(resource, settings, credential)
        if fresh is None:
            return response
        await response.aclose()
        return await self._send_once(url, _with(headers, fresh), body)

    async def _send_once(self, url: str, headers: Headers, body: Body) -> UpstreamResponse:
        request = (self.head.method, url, headers, body)
        return await self.services.upstreams.send(self.resource, self.settings, request)

    # -- relaying the response ---------------------------------------------------------------
    async def _relay_raw(self, response: UpstreamResponse) -> None:
        """Bytes as the upstream sent them (its Content-Encoding kept), chunk by chunk."""
        declared = _declared_length(response)
        if declared is not None and declared > self.settings.max_response_bytes:
            raise UpstreamFailed(502, self._too_large_message(), "response_size")
        headers = client_response_headers(
            list(response.headers.multi_items()), body_rewritten=False
        )
        # A body of declared length follows at once: its head waits to leave with it. A
        # streamed one (no length) may be slow to start: its head goes out now.
        content_type, hold = response.headers.get("content-type"), declared is not None
        await self._start(response.status_code, headers, content_type, hold=hold)
        async for chunk in self._upstream_chunks(response.aiter_raw()):
            await self._forward(chunk)
        await self._end()

    async def _relay_masked(self, response: UpstreamResponse) -> None:
        """Read whole (bounded), masked, sent with its new length; or refused (502)."""
        kind = check_maskable(
            response.headers.get("content-type"),
            response.headers.get("content-encoding"),
            _declared_length(response),
        )
        parts = [
            chunk async for chunk in self._upstream_chunks(response.aiter_raw(), started=False)
        ]
        assert self.session.masker is not None
        content = mask_body(self.session.masker, kind, b"".join(parts))
        headers = client_response_headers(list(response.headers.multi_items()), body_rewritten=True)
        self._note_response(response.status_code, headers, response.headers.get("content-type"))
        self.record.response.add(content, EXCERPT_BYTES)
        await self.io.send(self.io.layer.whole_response(response.status_code, headers, content))

    async def _relay_model(self, response: UpstreamResponse, model: ModelCall) -> None:
        """Through the model call: its rewritten bytes as soon as it releases them."""
        headers = client_response_headers(list(response.headers.multi_items()), body_rewritten=True)
        # A whole (non-streaming) answer is released at its end: head, body and end in one
        # write. A stream's head goes out now.
        content_type, hold = response.headers.get("content-type"), not model.stream
        await self._start(response.status_code, headers, content_type, hold=hold)
        first_chunk_s: float | None = None
        try:
            async for chunk in self._upstream_chunks(response.aiter_bytes()):
                out = model.response_chunk(chunk)
                if out and first_chunk_s is None:
                    first_chunk_s = time.monotonic() - self.record.started
                await self._forward(out)
            last = model.response_end()
        finally:
            self.record.llm = model.finish(response.status_code, first_chunk_s)
        await self._end(last)

    async def _upstream_chunks(
        self, chunks: AsyncIterator[bytes], *, started: bool = True
    ) -> AsyncIterator[bytes]:
        """The upstream's body, cut at max_response_bytes; a broken upstream ends it."""
        limit, received = self.settings.max_response_bytes, 0
        try:
            async for chunk in chunks:
                received += len(chunk)
                if received > limit:
                    if not started:
                        raise UpstreamFailed(502, self._too_large_message(), "response_size")
                    self.record.refused_by = "response_size"
                    raise ResponseCut(self._too_large_message())
                yield chunk
        except BROKEN_OFF as exc:
            if not started:
                raise UpstreamFailed(
                    502, f"the upstream broke off: {type(exc).__name__}", "upstream"
                ) from exc
            self.record.refused_by = "stream_cut"
            raise ResponseCut(f"the upstream broke off: {type(exc).__name__}") from exc

    def _too_large_message(self) -> str:
        return f"the response is larger than {self.settings.max_response_bytes} bytes"

    async def _start(
        self, status: int, headers: Headers, content_type: str | None, *, hold: bool = False
    ) -> None:
        """The response head: sent now, or held to leave with the first body bytes."""
        self._note_response(status, headers, content_type)
        head = self.io.layer.respond(status, headers)
        if hold:
            self.io.hold(head)
        else:
            await self.io.send(head)

    def _note_response(self, status: int, headers: Headers, content_type: str | None) -> None:
        self.record.status = status
        self.record.textual_response = _textual(content_type)
        if self.close_after:
            headers.append(("connection", "close"))

    async def _forward(self, data: bytes) -> None:
        if data:
            self.record.response.add(data, EXCERPT_BYTES)
            await self.io.send(self.io.layer.body(data))

    async def _end(self, last: bytes = b"") -> None:
        """The end of the body, in one write with its ``last`` bytes (and a held head)."""
        if last:
            self.record.response.add(last, EXCERPT_BYTES)
        await self.io.send(self.io.layer.body(last) + self.io.layer.end())

    def _spend_budget(self) -> None:
        assert self.session.identity is not None
        llm = self.record.llm
        tokens = (llm.input_tokens or 0) + (llm.output_tokens or 0) if llm is not None else 0
        self.services.budgets.record(
            identity=self.session.identity.sub,
            resource=self.resource.name,
            settings=self.settings,
            tokens=tokens,
            now=time.monotonic(),
        )

    # -- the gateway's own answers -----------------------------------------------------------
    async def answer(self, answer: GatewayAnswer) -> None:
        """Answer in the resource's error shape (or, once the response has started, cut it)."""
        self.record.status = self.record.status or answer.status
        self.record.refused_by = self.record.refused_by or answer.refused_by
        self.record.error = self.record.error or answer.message
        if self.io.layer.phase is not Phase.NOT_STARTED:
            self.cut = True
            return
        self.record.status = answer.status
        headers, content = errors.render(self.resource, answer)
        if self.close_after or answer.status in (400, 408, 413, 431):
            headers.append(("connection", "close"))
        self.record.response = BodyCount()
        await self.io.respond_whole(answer.status, headers, content)


def _with(headers: Headers, credential: tuple[str, str] | None) -> Headers:
    return [*headers, credential] if credential is not None else headers


def _declared_length(response: UpstreamResponse) -> int | None:
    value = response.headers.get("content-length")
    return int(value) if value is not None and value.isdigit() else None


def _textual(content_type: str | None) -> bool:
    media = (content_type or "").split(";", 1)[0].strip().lower()
    return media.startswith("text/") or "json" in media or "xml" in media or "form" in media


def _excerpt(head: bytes, textual: bool) -> str:
    if not head or not textual:
        return ""
    return head[:EXCERPT_BYTES].decode("utf-8", errors="replace")


def _unrouted_path(target: str) -> str:
    """The path the audit records when the target could not be routed."""
    path = target.split("?", 1)[0]
    rest = path[1:].split("/", 1)[1] if path.count("/") > 1 else ""
    return "/" + rest
