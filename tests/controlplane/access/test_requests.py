"""Access requests: asked under a policy, approved by enough approvers (or a rule), turned
into a grant that starts at approval; every attack on the approval path fails closed."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from controlplane.access import services
from controlplane.access.models import AccessRequest, Approval, Grant
from controlplane.access.selectors import access_requests_awaiting
from controlplane.access.services import (
    access_request_approve,
    access_request_create,
    access_request_deny,
    access_request_withdraw,
    grant_revoke,
)
from controlplane.audit.models import AuditEvent
from controlplane.identities.models import User
from controlplane.policies.models import Policy
from controlplane.policies.services import (
    AutoApprovalRuleSpec,
    incident_declare,
    incident_resolve,
    policy_set,
)
from controlplane.resources.models import Resource
from tests.controlplane.access.conftest import appdb_spec, member

MINUTES_2 = timedelta(minutes=2)
HOUR = timedelta(hours=1)


def ask(who: User, resource: Resource, duration: timedelta = MINUTES_2, **kw: str) -> AccessRequest:
    return access_request_create(
        actor=who, resource=resource, duration=duration, reason="investigate INC-7", **kw
    )


def test_alice_asks_erin_approves_and_the_grant_runs_from_approval_for_the_duration(
    appdb_policy: Policy, developer_alice: User, erin: User, appdb: Resource
) -> None:
    request = ask(developer_alice, appdb)
    assert (request.status, request.access_level) == ("pending", "read-only")
    assert not Grant.objects.filter(identity=developer_alice).exists()

    access_request_approve(actor=erin, request=request, comment="ok for INC-7")

    request.refresh_from_db()
    grant = request.grant
    assert request.status == "approved" and request.decided_at is not None
    assert (grant.identity, grant.resource, grant.access_level) == (
        developer_alice,
        appdb,
        "read-only",
    )
    assert grant.expires_at - grant.starts_at == MINUTES_2
    assert abs(grant.starts_at - timezone.now()) < timedelta(seconds=5)
    assert grant.is_active() and grant.created_by == erin


def test_every_step_is_audited_with_actor_and_reason_or_comment(
    appdb_policy: Policy, developer_alice: User, erin: User, appdb: Resource
) -> None:
    request = ask(developer_alice, appdb)
    access_request_approve(actor=erin, request=request, comment="ok for INC-7")
    events = AuditEvent.objects.filter(action__startswith="access_request").order_by("id")
    assert [(e.action, e.actor_name) for e in events] == [
        ("access_request.created", "alice"),
        ("access_request.approved", "erin"),
    ]
    assert events[0].payload["reason"] == "investigate INC-7"
    assert events[1].payload["comment"] == "ok for INC-7"
    grant_event = AuditEvent.objects.get(action="grant.created", payload__request=str(request.pk))
    assert grant_event.payload["access_level"] == "read-only"


def test_a_policy_needing_two_approvals_grants_only_after_the_second(
    bob: User, appdb_policy: Policy, developer_alice: User, erin: User, frank: User,
    agent_smith: User, appdb: Resource,
) -> None:  # fmt: skip
    policy_set(actor=bob, resource=appdb, spec=appdb_spec(agent_smith, min_approvals=2))
    request = ask(developer_alice, appdb)
    access_request_approve(actor=erin, request=request)
    request.refresh_from_db()
    assert request.status == "pending" and not Grant.objects.filter(request=request).exists()
    assert AuditEvent.objects.get(action="access_request.approval_added").payload["needed"] == 2

    access_request_approve(actor=frank, request=request)
    request.refresh_from_db()
    assert request.status == "approved" and request.grant.is_active()


def test_administrators_may_approve_too(
    appdb_policy: Policy, developer_alice: User, bob: User, appdb: Resource
) -> None:
    request = access_request_approve(actor=bob, request=ask(developer_alice, appdb))
    assert request.status == "approved"


def test_agent_smith_is_granted_at_once_by_its_auto_approval_rule(
    appdb_policy: Policy, agent_smith: User, appdb: Resource
) -> None:
    request = ask(agent_smith, appdb, timedelta(minutes=10))
    assert (request.status, request.auto_approved) == ("approved", True)
    grant = Grant.objects.get(request=request)
    assert grant.created_by is None and grant.access_level == "read-only"
    event = AuditEvent.objects.get(action="access_request.approved")
    assert event.actor_name == "system"
    assert event.payload["auto_approval_rule"]["subject"] == "service-account:agent-smith"


@pytest.mark.parametrize(
    ("duration", "level"), [(timedelta(minutes=30), ""), (timedelta(minutes=5), "read-write")]
)
def test_a_request_outside_the_rule_waits_for_a_human(
    appdb_policy: Policy, agent_smith: User, appdb: Resource, duration: timedelta, level: str
) -> None:
    request = ask(agent_smith, appdb, duration, access_level=level)
    assert request.status == "pending" and not request.auto_approved


def test_an_incident_only_rule_applies_only_while_an_incident_is_open(
    bob: User, appdb_policy: Policy, developer_alice: User, agent_smith: User, appdb: Resource
) -> None:
    on_call = AutoApprovalRuleSpec(group="developers", max_duration=HOUR, only_during_incident=True)
    policy_set(actor=bob, resource=appdb, spec=appdb_spec(agent_smith, auto_approvals=[on_call]))
    assert ask(developer_alice, appdb).status == "pending"
    incident_declare(actor=bob, reason="INC-7: checkout down")
    assert ask(developer_alice, appdb).status == "approved"
    incident_resolve(actor=bob)
    assert ask(developer_alice, appdb).status == "pending"


# --- attacks and bad input: each fails closed with a clear message ------------------------


def test_approving_twice_is_refused(
    bob: User, appdb_policy: Policy, developer_alice: User, erin: User, agent_smith: User,
    appdb: Resource,
) -> None:  # fmt: skip
    policy_set(actor=bob, resource=appdb, spec=appdb_spec(agent_smith, min_approvals=2))
    request = ask(developer_alice, appdb)
    access_request_approve(actor=erin, request=request)
    with pytest.raises(ValidationError, match="already decided"):
        access_request_approve(actor=erin, request=request)
    request.refresh_from_db()
    assert request.status == "pending" and request.approvals.count() == 1


def test_approving_an_expired_request_is_refused(
    appdb_policy: Policy, developer_alice: User, erin: User, appdb: Resource
) -> None:
    request = ask(developer_alice, appdb)
    AccessRequest.objects.filter(pk=request.pk).update(expires_at=timezone.now())
    with pytest.raises(ValidationError, match="expired"):
        access_request_approve(actor=erin, request=request)
    assert not Grant.objects.filter(request=request).exists()


def test_a_requester_never_approves_their_own_request_even_as_an_approver(
    appdb_policy: Policy, erin: User, bob: User, appdb: Resource
) -> None:
    for approver in (member(erin, "developers"), member(bob, "developers")):
        request = ask(approver, appdb)
        with pytest.raises(PermissionDenied, match="own request"):
            access_request_approve(actor=approver, request=request)
        assert not Approval.objects.filter(request=request).exists()


def test_approving_without_the_approver_role_is_refused(
    appdb_policy: Policy, developer_alice: User, carol: User, agent_smith: User, appdb: Resource
) -> None:
    request = ask(developer_alice, appdb)
    for outsider in (carol, agent_smith):
        with pytest.raises(PermissionDenied, match="approver role"):
            access_request_approve(actor=outsider, request=request)
        with pytest.raises(PermissionDenied):
            access_request_deny(actor=outsider, request=request)
    request.refresh_from_db()
    assert request.status == "pending"


def test_a_decided_request_cannot_be_approved(
    appdb_policy: Policy, developer_alice: User, erin: User, frank: User, appdb: Resource
) -> None:
    request = ask(developer_alice, appdb)
    access_request_deny(actor=erin, request=request, comment="use the replica")
    with pytest.raises(ValidationError, match="denied, no longer pending"):
        access_request_approve(actor=frank, request=request)
    assert not Grant.objects.filter(request=request).exists()


def test_a_duration_over_the_policy_maximum_is_refused_not_shortened(
    appdb_policy: Policy, developer_alice: User, appdb: Resource
) -> None:
    with pytest.raises(ValidationError, match="over the policy maximum of 3600 s"):
        ask(developer_alice, appdb, timedelta(hours=2))
    assert not AccessRequest.objects.exists()


def test_a_level_the_policy_does_not_allow_is_refused(
    appdb_policy: Policy, developer_alice: User, appdb: Resource
) -> None:
    with pytest.raises(ValidationError, match="not allowed"):
        ask(developer_alice, appdb, access_level="superuser")


def test_a_resource_without_a_policy_takes_no_requests(
    developer_alice: User, billingdb: Resource
) -> None:
    with pytest.raises(ValidationError, match="no access policy"):
        ask(developer_alice, billingdb)


def test_only_the_policys_requesters_may_ask(
    appdb_policy: Policy, carol: User, appdb: Resource
) -> None:
    with pytest.raises(PermissionDenied, match="may not request"):
        ask(carol, appdb)


def test_a_reason_is_required(appdb_policy: Policy, developer_alice: User, appdb: Resource) -> None:
    with pytest.raises(ValidationError, match="say why"):
        access_request_create(actor=developer_alice, resource=appdb, duration=MINUTES_2, reason=" ")


def test_racing_approvals_cannot_both_grant(
    appdb_policy: Policy, developer_alice: User, erin: User, frank: User, appdb: Resource,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    request = ask(developer_alice, appdb)
    stale = AccessRequest.objects.select_related("requester", "resource__agent").get(pk=request.pk)
    access_request_approve(actor=erin, request=request)
    # frank's transaction read the request before erin's committed: it still says pending.
    monkeypatch.setattr(services, "_request_locked", lambda request_id: stale)
    with pytest.raises(ValidationError, match="decided concurrently"):
        access_request_approve(actor=frank, request=request)
    assert Grant.objects.filter(identity=developer_alice).count() == 1
    assert list(Approval.objects.values_list("approver__username", flat=True)) == ["erin"]


# --- deny, withdraw, and the approver's withdrawal of a grant ------------------------------


def test_one_denial_ends_the_request_without_a_grant(
    appdb_policy: Policy, developer_alice: User, erin: User, appdb: Resource
) -> None:
    request = access_request_deny(
        actor=erin, request=ask(developer_alice, appdb), comment="use the replica"
    )
    assert request.status == "denied"
    event = AuditEvent.objects.get(action="access_request.denied")
    assert (event.actor_name, event.payload["comment"]) == ("erin", "use the replica")


def test_only_the_requester_withdraws_and_a_withdrawn_request_cannot_be_approved(
    appdb_policy: Policy, developer_alice: User, erin: User, appdb: Resource
) -> None:
    request = ask(developer_alice, appdb)
    with pytest.raises(PermissionDenied, match="only the requester"):
        access_request_withdraw(actor=erin, request=request)
    access_request_withdraw(actor=developer_alice, request=request, comment="fixed it")
    with pytest.raises(ValidationError, match="withdrawn"):
        access_request_approve(actor=erin, request=request)
    assert AuditEvent.objects.get(action="access_request.withdrawn").actor_name == "alice"


def test_the_approver_may_withdraw_the_grant_they_approved_and_nobody_else_may(
    appdb_policy: Policy, developer_alice: User, erin: User, frank: User, carol: User,
    appdb: Resource,
) -> None:  # fmt: skip
    request = access_request_approve(actor=erin, request=ask(developer_alice, appdb))
    grant = Grant.objects.get(request=request)
    for outsider in (frank, carol, developer_alice):
        with pytest.raises(PermissionDenied):
            grant_revoke(actor=outsider, grant=grant)
    grant_revoke(actor=erin, grant=grant, reason="done early")
    grant.refresh_from_db()
    assert not grant.is_active() and grant.revoked_by == erin
    event = AuditEvent.objects.get(action="grant.revoked")
    assert (event.payload["revoked_as"], event.payload["reason"]) == ("approver", "done early")


# --- one transaction per step --------------------------------------------------------------


class RecordingFailed(Exception):
    pass


def test_when_recording_fails_no_request_decision_or_grant_is_left_behind(
    appdb_policy: Policy, developer_alice: User, erin: User, agent_smith: User, appdb: Resource,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    request = ask(developer_alice, appdb)

    def fail(**kwargs: object) -> None:
        raise RecordingFailed

    monkeypatch.setattr(services, "audit_event_record", fail)
    with pytest.raises(RecordingFailed):
        access_request_approve(actor=erin, request=request)
    with pytest.raises(RecordingFailed):
        ask(agent_smith, appdb)
    request.refresh_from_db()
    assert request.status == "pending" and not Approval.objects.exists()
    assert not Grant.objects.exists() and AccessRequest.objects.count() == 1


def test_an_approvers_inbox_holds_only_what_they_may_still_decide(
    bob: User, appdb_policy: Policy, developer_alice: User, erin: User, frank: User,
    carol: User, agent_smith: User, appdb: Resource,
) -> None:  # fmt: skip
    policy_set(actor=bob, resource=appdb, spec=appdb_spec(agent_smith, min_approvals=2))
    waiting = ask(developer_alice, appdb)
    expired = ask(developer_alice, appdb)
    AccessRequest.objects.filter(pk=expired.pk).update(expires_at=timezone.now())
    access_request_approve(actor=erin, request=waiting)
    assert list(access_requests_awaiting(approver=frank)) == [waiting]
    assert list(access_requests_awaiting(approver=bob)) == [waiting]
    assert not access_requests_awaiting(approver=erin).exists()  # already approved it
    assert not access_requests_awaiting(approver=carol).exists()
    assert not access_requests_awaiting(approver=developer_alice).exists()  # own request
