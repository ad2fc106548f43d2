"""The exec API with the real channel layer and agent websocket consumer: the test plays the
agent (tests/controlplane/agents/agent_link.py) and answers the ``exec`` frame it gets.

These tests commit for real (transaction=True): the API runs in a thread of its own while
the scenario drives the agent's websocket.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import jwt
import pytest
from asgiref.sync import async_to_sync, sync_to_async
from rest_framework.test import APIClient

from controlplane.access.models import AccessRequest, Grant
from controlplane.agents.services import IssuedAgent
from controlplane.audit.models import AuditEvent
from controlplane.identities.models import User
from controlplane.identities.tokens import gateway_token_mint
from controlplane.policies.models import AutoApprovalRule
from controlplane.policies.services import AutoApprovalRuleSpec, PolicySpec, policy_set
from controlplane.resources.models import Resource
from dataplane.contract import TOKEN_AUDIENCE
from tests.controlplane.agents.agent_link import AgentLink

pytestmark = pytest.mark.django_db(transaction=True)

ROWS = {
    "columns": [{"name": "n", "type": "int4"}],
    "rows": [[1]],
    "row_count": 1,
    "command_tag": "SELECT 1",
    "truncated": False,
}


def run(scenario: Callable[[], Awaitable[None]]) -> None:
    async_to_sync(scenario)()


def bearer(token: str) -> APIClient:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return api


def exec_post(api: APIClient, resource: str = "appdb", **headers: str) -> Any:
    body = {"sql": "select 1 as n", "timeout_s": 5}
    # A thread of its own, as a request under uvicorn has (Django's ThreadSensitiveContext):
    # the consumer's database calls must not queue behind the waiting view.
    return sync_to_async(api.post, thread_sensitive=False)(
        f"/api/v1/resources/{resource}/exec", body, format="json", headers=headers
    )


async def agent_connected(edge: IssuedAgent) -> AgentLink:
    link = AgentLink(edge.token)
    accepted, code = await link.connect()
    assert accepted, code
    assert (await link.receive())["type"] == "welcome"
    assert (await link.receive())["type"] == "snapshot"
    return link


async def next_exec(link: AgentLink, call: asyncio.Future[Any]) -> dict[str, Any]:
    """The next exec frame (snapshots pushed before it are skipped); fails with the API's
    answer if the call ended without reaching the agent."""
    while True:
        receiving = asyncio.ensure_future(link.receive())
        await asyncio.wait({receiving, call}, return_when=asyncio.FIRST_COMPLETED)
        if not receiving.done():
            receiving.cancel()
            response = call.result()
            raise AssertionError(f"no exec frame: {response.status_code} {response.json()}")
        frame = receiving.result()
        if frame["type"] == "exec":
            return frame


def exec_events() -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action="exec.call").order_by("seq"))


def test_an_ai_agent_with_only_a_gateway_token_runs_sql_and_the_call_is_audited(
    edge: IssuedAgent, appdb: Resource, alice: User, agent_smith: User, smith_on_appdb: Grant
) -> None:
    token = gateway_token_mint(actor=None, identity=agent_smith, on_behalf_of=alice).token

    async def scenario() -> None:
        link = await agent_connected(edge)
        call = asyncio.ensure_future(exec_post(bearer(token), **{"X-Correlation-Id": "run-42"}))
        frame = await next_exec(link, call)
        await link.send("exec_result", id=frame["id"], ok=True, result=ROWS)
        response = await call
        assert response.status_code == 200, response.json()
        assert response.json()["status"] == "done"
        assert response.json()["result"] == ROWS
        assert response.json()["correlation_id"] == "run-42"
        assert frame["sql"] == "select 1 as n" and frame["resource"] == "appdb"
        assert frame["correlation_id"] == "run-42"
        minted = jwt.decode(frame["token"], options={"verify_signature": False})
        assert minted["sub"] == str(agent_smith.pk) and minted["aud"] == TOKEN_AUDIENCE
        assert minted["act"]["name"] == "alice"
        await link.disconnect()

    run(scenario)
    (event,) = exec_events()
    assert event.actor_name == "agent-smith"
    assert event.payload["correlation_id"] == "run-42"
    assert event.payload["grant"] == str(smith_on_appdb.pk)
    assert event.payload["per_call_grant"] is False
    assert event.payload["outcome"] == "done"
    assert "select" not in str(event.payload)  # the statement's digest only
    assert len(event.payload["statement_sha256"]) == 64


def test_a_sql_error_answers_422_with_the_sqlstate(
    edge: IssuedAgent, appdb: Resource, agent_smith: User, smith_on_appdb: Grant
) -> None:
    token = gateway_token_mint(actor=None, identity=agent_smith).token

    async def scenario() -> None:
        link = await agent_connected(edge)
        call = asyncio.ensure_future(exec_post(bearer(token)))
        frame = await next_exec(link, call)
        error = {"code": "sql_error", "message": "boom", "status": 422, "sqlstate": "42P01"}
        await link.send("exec_result", id=frame["id"], ok=False, error=error)
        response = await call
        assert response.status_code == 422
        assert response.json()["error"] == {
            "code": "sql_error",
            "message": "boom",
            "sqlstate": "42P01",
        }
        await link.disconnect()

    run(scenario)
    assert exec_events()[0].payload["error"] == {"code": "sql_error", "sqlstate": "42P01"}


def test_a_guardrail_denial_answers_403_with_the_rule(
    edge: IssuedAgent, appdb: Resource, agent_smith: User, smith_on_appdb: Grant
) -> None:
    token = gateway_token_mint(actor=None, identity=agent_smith).token

    async def scenario() -> None:
        link = await agent_connected(edge)
        call = asyncio.ensure_future(exec_post(bearer(token)))
        frame = await next_exec(link, call)
        error = {"code": "guardrail_denied", "message": "no DROP", "rule": "no-ddl"}
        await link.send("exec_result", id=frame["id"], ok=False, error=error)
        response = await call
        assert response.status_code == 403
        assert response.json()["error"]["rule"] == "no-ddl"
        await link.disconnect()

    run(scenario)


def test_a_call_scoped_auto_approval_makes_a_grant_for_this_call_alone(
    bob: User, edge: IssuedAgent, appdb: Resource, agent_smith: User
) -> None:
    rule = AutoApprovalRuleSpec(
        service_account=agent_smith,
        max_duration=timedelta(minutes=10),
        scope=AutoApprovalRule.Scope.CALL,
    )
    spec = PolicySpec(
        max_duration=timedelta(hours=1),
        requester_service_accounts=[agent_smith],
        auto_approvals=[rule],
    )
    policy_set(actor=bob, resource=appdb, spec=spec)
    token = gateway_token_mint(actor=None, identity=agent_smith).token

    async def scenario() -> None:
        link = await agent_connected(edge)
        for _ in range(2):
            call = asyncio.ensure_future(exec_post(bearer(token)))
            frame = await next_exec(link, call)
            await link.send("exec_result", id=frame["id"], ok=True, result=ROWS)
            assert (await call).status_code == 200
        await link.disconnect()

    run(scenario)
    grants = Grant.objects.filter(identity=agent_smith, resource=appdb)
    assert [g.scope for g in grants] == ["call", "call"]  # the second call got a new one
    events = exec_events()
    assert [e.payload["per_call_grant"] for e in events] == [True, True]
    assert {e.payload["grant"] for e in events} == {str(g.pk) for g in grants}


def test_without_an_auto_approval_the_call_answers_202_pending_and_asks_once(
    bob: User, edge: IssuedAgent, appdb: Resource, agent_smith: User
) -> None:
    spec = PolicySpec(
        max_duration=timedelta(hours=1),
        requester_service_accounts=[agent_smith],
        approver_groups=["dba"],
    )
    policy_set(actor=bob, resource=appdb, spec=spec)
    api = bearer(gateway_token_mint(actor=None, identity=agent_smith).token)
    body = {"sql": "select 1", "reason": "weekly numbers"}

    first = api.post("/api/v1/resources/appdb/exec", body, format="json")
    again = api.post("/api/v1/resources/appdb/exec", body, format="json")

    assert first.status_code == 202 and again.status_code == 202
    assert first.json()["status"] == "pending"
    assert first.json()["access_request"] == again.json()["access_request"]
    assert first.json()["poll"].startswith("/api/v1/access-requests")
    request = AccessRequest.objects.get()
    assert request.reason == "weekly numbers" and request.status == "pending"
    assert [e.payload["outcome"] for e in exec_events()] == ["pending", "pending"]


def test_without_a_grant_or_a_policy_to_ask_under_the_call_gets_403(
    edge: IssuedAgent, appdb: Resource, agent_smith: User
) -> None:
    api = bearer(gateway_token_mint(actor=None, identity=agent_smith).token)

    response = api.post("/api/v1/resources/appdb/exec", {"sql": "select 1"}, format="json")

    # appdb has no policy at all: only an administrator could grant access.
    assert response.status_code == 403
    assert "no active grant" in response.json()["detail"]
    assert exec_events()[0].payload["outcome"] == "refused"


def test_an_agent_that_is_not_connected_answers_503(
    edge: IssuedAgent, appdb: Resource, agent_smith: User, smith_on_appdb: Grant
) -> None:
    api = bearer(gateway_token_mint(actor=None, identity=agent_smith).token)

    response = api.post("/api/v1/resources/appdb/exec", {"sql": "select 1"}, format="json")

    assert response.status_code == 503
    assert response.json()["error"]["code"] == "agent_unavailable"


@pytest.mark.parametrize("correlation_id", ["x" * 129, "tab\there", "caf\u00e9"])
def test_a_malformed_correlation_id_is_refused_with_400(
    edge: IssuedAgent, appdb: Resource, agent_smith: User, correlation_id: str
) -> None:
    api = bearer(gateway_token_mint(actor=None, identity=agent_smith).token)

    response = api.post(
        "/api/v1/resources/appdb/exec",
        {"sql": "select 1"},
        format="json",
        headers={"X-Correlation-Id": correlation_id},
    )

    assert response.status_code == 400
    assert "X-Correlation-Id" in response.json()


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"sql": ""},
        {"sql": "select 1", "http": {"method": "GET", "path": "/"}},
        {"sql": "select 1", "max_rows": 10_001},
        {"sql": "select 1", "timeout_s": 301},
    ],
)
def test_a_malformed_body_is_refused_with_400(
    edge: IssuedAgent, appdb: Resource, agent_smith: User, body: dict[str, Any]
) -> None:
    api = bearer(gateway_token_mint(actor=None, identity=agent_smith).token)

    assert api.post("/api/v1/resources/appdb/exec", body, format="json").status_code == 400


def test_http_on_a_postgres_resource_is_refused_with_400(
    edge: IssuedAgent, appdb: Resource, agent_smith: User, smith_on_appdb: Grant
) -> None:
    api = bearer(gateway_token_mint(actor=None, identity=agent_smith).token)
    body = {"http": {"method": "GET", "path": "/v1/models"}}

    assert api.post("/api/v1/resources/appdb/exec", body, format="json").status_code == 400


def test_a_forged_gateway_token_is_refused_with_401(
    edge: IssuedAgent, appdb: Resource, agent_smith: User
) -> None:
    token = gateway_token_mint(actor=None, identity=agent_smith).token
    header, payload, signature = token.split(".")
    forged = ".".join([header, payload, signature[::-1]])

    response = bearer(forged).post("/api/v1/resources/appdb/exec", {"sql": "select 1"})

    assert response.status_code == 401
    assert "gateway token rejected" in response.json()["detail"]


def test_a_bearer_token_of_another_issuer_is_left_to_oidc(
    edge: IssuedAgent, appdb: Resource
) -> None:
    other = jwt.encode({"iss": "https://idp.example", "sub": str(uuid.uuid4())}, "k" * 32)

    response = bearer(other).post("/api/v1/resources/appdb/exec", {"sql": "select 1"})

    assert response.status_code == 401
    assert "gateway token" not in response.json()["detail"]


def test_a_gateway_token_authenticates_any_api_as_its_identity(
    agent_smith: User, smith_on_appdb: Grant
) -> None:
    api = bearer(gateway_token_mint(actor=None, identity=agent_smith).token)

    response = api.get("/api/v1/grants")

    assert response.status_code == 200
    assert [g["id"] for g in response.json()["results"]] == [str(smith_on_appdb.pk)]


def test_someone_the_policy_does_not_let_ask_gets_403(
    bob: User, alice: User, edge: IssuedAgent, appdb: Resource, agent_smith: User
) -> None:
    spec = PolicySpec(max_duration=timedelta(hours=1), requester_service_accounts=[agent_smith])
    policy_set(actor=bob, resource=appdb, spec=spec)
    api = bearer(gateway_token_mint(actor=None, identity=alice).token)

    response = api.post("/api/v1/resources/appdb/exec", {"sql": "select 1"}, format="json")

    assert response.status_code == 403
    assert AccessRequest.objects.count() == 0
