"""request_access prints the request id; approve_request and deny_request decide as a
named approver, under the same checks as the API."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from controlplane.access.models import AccessRequest, Grant
from controlplane.identities.models import User
from controlplane.policies.models import Policy


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out, stderr=StringIO())
    return out.getvalue().strip()


def _request_access(who: str, seconds: str = "120") -> str:
    return run(
        "request_access", "--as", who, "--resource", "appdb", "--duration", seconds,
        "--reason", "INC-7",
    )  # fmt: skip


def test_request_then_approve_from_the_shell(
    appdb_policy: Policy, developer_alice: User, erin: User
) -> None:
    request_id = _request_access("alice")
    assert run("approve_request", request_id, "--as", "erin", "--comment", "ok") == "approved"
    assert Grant.objects.get(request_id=request_id).identity == developer_alice


def test_deny_from_the_shell(appdb_policy: Policy, developer_alice: User, erin: User) -> None:
    request_id = _request_access("alice")
    assert run("deny_request", request_id, "--as", "erin") == "denied"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("approve_request", "{id}", "--as", "alice"), "approver role"),
        (("approve_request", "{id}", "--as", "carol"), "approver role"),
        (("approve_request", "{id}", "--as", "nobody"), "no identity"),
        (("approve_request", "not-a-uuid", "--as", "erin"), "no access request"),
    ],
)
def test_refusals_exit_with_a_one_line_message(
    appdb_policy: Policy, developer_alice: User, erin: User, carol: User,
    args: tuple[str, ...], message: str,
) -> None:  # fmt: skip
    request_id = _request_access("alice")
    with pytest.raises(CommandError, match=message):
        run(*(arg.format(id=request_id) for arg in args))
    assert AccessRequest.objects.get().status == "pending"


def test_a_request_over_the_maximum_exits_with_the_reason(
    appdb_policy: Policy, developer_alice: User
) -> None:
    with pytest.raises(CommandError, match="over the policy maximum"):
        _request_access("alice", "7200")
