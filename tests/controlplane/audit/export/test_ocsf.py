"""OCSF 1.3.0 view of the audit log: each entry becomes an event of the class an analyst
expects, carrying every attribute the schema requires for that class.

The lists below are the OCSF 1.3.0 schema's ``"requirement": "required"`` attributes and
``at_least_one`` constraints, read from the compiled 1.3.0 schema (classes
``authentication``, ``account_change``, ``entity_management``, ``api_activity``,
``datastore_activity``, ``detection_finding``/``finding``, ``data_security_finding``; objects
``user``, ``actor``, ``api``, ``finding_info``, ``database``). The base-event list is
``base_event``'s required attributes, common to every 1.x class.
"""

from __future__ import annotations

from typing import Any

import pytest

from controlplane.access.actions import AccessAction
from controlplane.agents.actions import AgentAction
from controlplane.audit.actions import ControlPlaneAction
from controlplane.audit.export.bundle import ExportAction
from controlplane.audit.export.ocsf import OCSF_VERSION, epoch_milliseconds, ocsf_event
from controlplane.federation.actions import FederationAction
from controlplane.guardrails.actions import GuardrailAction
from controlplane.identities.actions import IdentityAction
from controlplane.identities.signin import SignInAction
from controlplane.masking.actions import MaskingAction
from controlplane.mcp_server.actions import McpAction
from controlplane.policies.actions import PolicyAction
from controlplane.sessions.actions import SessionAction
from dataplane.contract import Action
from tests.controlplane.audit.export.entries import AGENT_SMITH, ALICE, ANONYMOUS, entry, statement

# base_event (1.3.0): every class inherits these.
BASE_REQUIRED = {
    "activity_id",
    "category_uid",
    "class_uid",
    "metadata",
    "severity_id",
    "time",
    "type_uid",
}
METADATA_REQUIRED = {"product", "version"}
CLASS_REQUIRED: dict[int, set[str]] = {
    0: set(),
    2004: {"finding_info"},  # detection_finding extends finding: finding_info required
    2006: {"finding_info", "activity_id"},  # data_security_finding: activity_id required too
    3001: {"user"},  # account_change
    3002: {"user"},  # authentication
    3004: {"entity"},  # entity_management
    4001: {"src_endpoint", "dst_endpoint"},  # network_activity (terminal traffic)
    4002: set(),  # http_activity: the constraints below (both endpoints are always filled)
    6003: {"actor", "api", "src_endpoint"},  # api_activity
    6005: {"actor", "src_endpoint"},  # datastore_activity
}
CLASS_AT_LEAST_ONE: dict[int, set[str]] = {
    4002: {"http_request", "http_response"},
    3002: {"service", "dst_endpoint"},
    6005: {"database", "databucket", "table"},
}
USER_AT_LEAST_ONE = {"account", "name", "uid"}
# Required attributes of the objects the mapping fills in.
OBJECT_REQUIRED = {
    "finding_info": {"uid", "title"},
    "database": {"type_id"},
    "api": {"operation"},
    "http_response": {"code"},
}
ACTOR_AT_LEAST_ONE = {"process", "user", "invoked_by", "session", "app_name", "app_uid"}


def assert_conforms(event: dict[str, Any]) -> None:
    """``event`` has what OCSF 1.3.0 requires of its class."""
    class_uid = event["class_uid"]
    missing = (BASE_REQUIRED | CLASS_REQUIRED[class_uid]) - event.keys()
    assert not missing, f"class {class_uid} lacks {missing}"
    assert event["metadata"].keys() >= METADATA_REQUIRED
    if class_uid in CLASS_AT_LEAST_ONE:
        assert CLASS_AT_LEAST_ONE[class_uid] & event.keys(), f"class {class_uid} needs one of"
    if "actor" in event:
        assert ACTOR_AT_LEAST_ONE & event["actor"].keys()
    for user in (event.get("user"), event.get("actor", {}).get("user")):
        if user is not None:
            assert USER_AT_LEAST_ONE & {key for key, value in user.items() if value}
    for name, required in OBJECT_REQUIRED.items():
        if name in event:
            assert all(event[name].get(key) not in (None, "") for key in required), name
    assert event["category_uid"] == class_uid // 1000
    assert event["type_uid"] == class_uid * 100 + event["activity_id"]
    assert isinstance(event["time"], int)


def test_every_event_states_the_ocsf_version_and_points_back_at_its_log_entry() -> None:
    event = ocsf_event(statement("SELECT 1", tags=["SELECT 1"]))

    assert event["metadata"]["version"] == OCSF_VERSION == "1.3.0"
    assert event["metadata"]["uid"] == "41"
    assert event["metadata"]["sequence"] == 41
    assert event["metadata"]["original_time"] == "2026-11-30T12:00:00.123456Z"
    assert event["time"] == epoch_milliseconds("2026-11-30T12:00:00.123Z")


def test_a_statement_is_datastore_activity_in_alices_context_through_the_ai_agent() -> None:
    event = ocsf_event(statement("UPDATE t SET x = 1", tags=["UPDATE 3"]))

    assert_conforms(event)
    assert (event["class_uid"], event["activity_name"]) == (6005, "Update")
    # alice's context, through agent-smith (actor.invoked_by is deprecated since 1.2.0).
    assert event["actor"]["user"] == {
        "uid": ALICE["sub"],
        "name": "alice",
        "type": "user",
        "type_id": 1,
    }
    assert (event["actor"]["app_name"], event["actor"]["app_uid"]) == (
        "agent-smith",
        AGENT_SMITH["sub"],
    )
    assert "invoked_by" not in event["actor"]
    assert event["unmapped"]["actor"] == AGENT_SMITH
    assert event["unmapped"]["on_behalf_of"] == ALICE
    assert event["database"]["name"] == "appdb"
    assert event["query_info"]["query_string"] == "UPDATE t SET x = 1"
    assert event["status_id"] == 1


@pytest.mark.parametrize(
    ("tags", "activity"),
    [
        (["SELECT 3"], "Read"),
        (["INSERT 0 1"], "Write"),
        (["DELETE 2"], "Delete"),
        (["CREATE TABLE"], "Create"),
        (["BEGIN"], "Query"),
        ([], "Query"),
    ],
)
def test_the_command_tag_says_which_datastore_activity(tags: list[str], activity: str) -> None:
    assert ocsf_event(statement("…", tags=tags))["activity_name"] == activity


def test_a_failed_statement_is_a_failure_with_the_server_error() -> None:
    error = {"code": "42P01", "message": 'relation "nope" does not exist'}
    event = ocsf_event(statement("SELECT * FROM nope", tags=[], error=error))

    assert (event["status_id"], event["status_code"]) == (2, "42P01")
    assert event["status_detail"] == 'relation "nope" does not exist'


def test_a_connection_refused_for_a_bad_token_is_a_failed_authentication() -> None:
    refused = entry(
        "connection.refused",
        agent="edge-1",
        actor=ANONYMOUS,
        resource="appdb",
        payload={
            "reason": "bad_credentials",
            "message": "token expired",
            "client_address": "10.0.0.5:5123",
        },
    )
    event = ocsf_event(refused)

    assert_conforms(event)
    assert (event["class_uid"], event["activity_name"], event["status_id"]) == (3002, "Logon", 2)
    assert event["status_detail"] == "bad_credentials"
    assert event["src_endpoint"] == {"ip": "10.0.0.5"}
    assert event["user"]["name"] == "anonymous"


@pytest.mark.parametrize(
    ("action", "payload", "activity", "protocol"),
    [
        ("identity.signed_in", {"method": "oidc"}, "Logon", "OpenID"),
        ("identity.signed_in", {"method": "saml"}, "Logon", "SAML"),
        ("identity.signed_out", {}, "Logoff", "Other"),
        ("token.exchanged", {"subject_token_type": "jwt"}, "Token Exchange", "OAUTH 2.0"),
        (
            "token.minted",
            {"identity": "5a5a", "identity_name": "agent-smith", "kind": "service_account"},
            "Token Minted",
            "OAUTH 2.0",
        ),
    ],
)
def test_sign_ins_and_tokens_are_authentication(
    action: str, payload: dict[str, str], activity: str, protocol: str
) -> None:
    event = ocsf_event(entry(action, actor=ALICE, payload=payload))

    assert_conforms(event)
    assert (event["class_uid"], event["activity_name"], event["auth_protocol"]) == (
        3002,
        activity,
        protocol,
    )


def test_a_minted_token_names_the_identity_it_was_minted_for() -> None:
    payload = {"identity": "5a5a", "identity_name": "agent-smith", "kind": "service_account"}
    event = ocsf_event(entry("token.minted", actor=ALICE, payload=payload))

    assert event["user"]["name"] == "agent-smith"
    assert event["actor"]["user"]["name"] == "alice"
    assert "app_name" not in event["actor"]  # alice minted it herself: no one in between


@pytest.mark.parametrize("action", ["llm.call", "tool.call"])
def test_model_and_tool_calls_are_api_activity(action: str) -> None:
    call = entry(
        action,
        agent="edge-2",
        actor=AGENT_SMITH,
        on_behalf_of=ALICE,
        resource="openai",
        payload={"model": "gpt-x", "method": "POST", "url": "https://api.example/v1/chat"},
    )
    event = ocsf_event(call)

    assert_conforms(event)
    assert event["class_uid"] == 6003
    assert event["api"]["operation"] == "gpt-x"
    assert event["http_request"]["http_method"] == "POST"


def _exchange(action: str, **payload: Any) -> dict[str, Any]:
    """An HTTP exchange agent-smith made for alice through edge-2 (as the audit addon logs
    it: method, upstream path, status, sizes, duration, refusal, correlation id)."""
    document = {
        "method": "GET",
        "path": "/repos/acme/app/issues?state=open",
        "status": 200,
        "request_bytes": 120,
        "response_bytes": 4096,
        "duration_ms": 12.7,
        "refused_by": "",
        "error": "",
        "correlation_id": "run-7",
        **payload,
    }
    protocol = "llm" if action == "llm.call" else "http"
    return entry(
        action,
        agent="edge-2",
        actor=AGENT_SMITH,
        on_behalf_of=ALICE,
        resource="github" if protocol == "http" else "openai",
        protocol=protocol,
        session="s-3",
        payload=document,
    )


def test_an_http_request_is_http_activity_with_method_path_status_and_sizes() -> None:
    event = ocsf_event(_exchange("http.request"))

    assert_conforms(event)
    assert (event["class_uid"], event["activity_id"], event["activity_name"]) == (4002, 3, "Get")
    assert event["http_request"] == {
        "http_method": "GET",
        "url": {"path": "/repos/acme/app/issues", "query_string": "state=open"},
        "uid": "run-7",
    }
    assert (event["http_response"], event["http_status"]) == ({"code": 200}, 200)
    assert event["traffic"] == {"bytes_out": 120, "bytes_in": 4096, "bytes": 4216}
    assert event["duration"] == 12
    assert event["dst_endpoint"]["name"] == "github"
    assert event["src_endpoint"] == {"uid": "s-3", "name": "client"}
    assert event["proxy"]["name"] == "edge-2"
    assert event["status_id"] == 1
    assert (event["actor"]["user"]["name"], event["actor"]["app_name"]) == ("alice", "agent-smith")


@pytest.mark.parametrize(("method", "activity"), [("POST", 6), ("patch", 9), ("PROPFIND", 99)])
def test_the_request_method_says_which_http_activity(method: str, activity: int) -> None:
    event = ocsf_event(_exchange("http.request", method=method))

    assert_conforms(event)
    assert event["activity_id"] == activity


def test_a_request_the_gateway_refused_is_a_failure_naming_the_check() -> None:
    event = ocsf_event(_exchange("http.request", method="DELETE", status=403, refused_by="route"))

    assert_conforms(event)
    assert (event["status_id"], event["severity_id"]) == (2, 3)
    assert event["status_detail"] == "refused by the gateway: route"
    assert event["status_code"] == "403"


def test_an_upstream_error_answer_is_a_relayed_request_with_its_code() -> None:
    event = ocsf_event(_exchange("http.request", status=404))

    assert (event["status_id"], event["http_status"]) == (1, 404)


def test_a_request_answered_before_any_upstream_response_still_conforms() -> None:
    event = ocsf_event(
        _exchange("http.request", status=0, response_bytes="?", error="upstream unreachable")
    )

    assert_conforms(event)
    assert "http_response" not in event
    assert event["traffic"]["bytes_in"] == 0
    assert event["status_detail"] == "upstream unreachable"


def test_a_model_call_is_api_activity_with_the_model_and_its_token_usage() -> None:
    call = _exchange(
        "llm.call",
        method="POST",
        path="/v1/chat/completions",
        api="openai.chat",
        model="gpt-4o-mini",
        stream=True,
        prompt="mail [EMAIL_ADDRESS_1]",
        completion="done",
        input_tokens=31,
        output_tokens=9,
        finish_reason="stop",
    )
    event = ocsf_event(call)

    assert_conforms(event)
    assert (event["class_uid"], event["api"]["operation"]) == (6003, "gpt-4o-mini")
    assert event["api"]["service"] == {"name": "openai"}
    assert event["api"]["response"] == {"code": 200}
    assert event["api"]["request"] == {"uid": "run-7"}
    assert event["http_request"]["url"] == {"path": "/v1/chat/completions"}
    assert event["unmapped"]["llm_usage"] == {
        "model": "gpt-4o-mini",
        "api": "openai.chat",
        "input_tokens": 31,
        "output_tokens": 9,
        "total_tokens": 40,
        "finish_reason": "stop",
    }
    # The texts stay as the agent logged them (already redacted), in the payload only.
    assert event["unmapped"]["payload"]["prompt"] == "mail [EMAIL_ADDRESS_1]"


def test_a_model_call_without_usage_reports_none_rather_than_zero_tokens() -> None:
    event = ocsf_event(
        _exchange("llm.call", model="m", finish_reason="incomplete", refused_by="stream_cut")
    )

    assert_conforms(event)
    assert event["unmapped"]["llm_usage"]["total_tokens"] is None
    assert event["status_detail"] == "refused by the gateway: stream_cut"


def test_masking_is_a_data_security_finding() -> None:
    masked = entry(
        "masking.applied", agent="edge-1", resource="appdb", payload={"entities": {"email": 3}}
    )
    event = ocsf_event(masked)

    assert_conforms(event)
    assert (event["class_uid"], event["activity_id"]) == (2006, 1)
    assert event["unmapped"]["payload"] == {"entities": {"email": 3}}


@pytest.mark.parametrize(
    ("action", "disposition"), [("guardrail.denied", "Blocked"), ("guardrail.held", "Delayed")]
)
def test_a_blocked_or_held_command_is_a_detection_finding(action: str, disposition: str) -> None:
    event = ocsf_event(
        entry(action, agent="edge-1", resource="appdb", payload={"statement": "DROP TABLE t"})
    )

    assert_conforms(event)
    assert (event["class_uid"], event["disposition"]) == (2004, disposition)
    assert event["severity_id"] == 3


def test_a_grant_is_entity_management_of_a_grant() -> None:
    payload = {"grant": "g-1", "identity_name": "alice", "reason": "incident 42"}
    event = ocsf_event(entry("grant.created", resource="appdb", payload=payload))

    assert_conforms(event)
    assert (event["class_uid"], event["activity_name"]) == (3004, "Create")
    assert event["entity"] == {"type": "Grant", "name": "appdb", "uid": "g-1"}
    assert event["comment"] == "incident 42"


def test_an_ephemeral_database_role_is_an_account_change() -> None:
    event = ocsf_event(
        entry("credential.created", agent="edge-1", payload={"credential": "gh_s_abc"})
    )

    assert_conforms(event)
    assert (event["class_uid"], event["activity_name"], event["user"]["name"]) == (
        3001,
        "Create",
        "gh_s_abc",
    )


def test_an_action_no_class_fits_falls_back_to_the_base_event() -> None:
    event = ocsf_event(entry("something.new", payload={"x": 1}))

    assert_conforms(event)
    assert (event["class_uid"], event["type_uid"], event["activity_name"]) == (
        0,
        99,
        "something.new",
    )
    assert event["unmapped"]["payload"] == {"x": 1}


def _every_known_action() -> list[str]:
    enums = (
        ControlPlaneAction,
        AccessAction,
        AgentAction,
        ExportAction,
        FederationAction,
        IdentityAction,
        SignInAction,
        PolicyAction,
        MaskingAction,
        GuardrailAction,
        McpAction,
        SessionAction,
        Action,
    )
    return sorted({str(member) for enum in enums for member in enum})


@pytest.mark.parametrize("action", _every_known_action())
def test_every_action_gatehouse_records_maps_to_a_conforming_specific_class(action: str) -> None:
    event = ocsf_event(entry(action, agent="edge-1" if action in set(Action) else None))

    assert_conforms(event)
    assert event["class_uid"] != 0, f"{action} fell back to the base event"
