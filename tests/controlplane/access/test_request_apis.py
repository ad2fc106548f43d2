"""REST: anyone asks; approvers see and decide the requests they may approve; requesters
withdraw; approvers may withdraw the grant they approved."""

from __future__ import annotations

from collections.abc import Callable

from rest_framework.test import APIClient

from controlplane.access.models import AccessRequest
from controlplane.identities.models import User
from controlplane.policies.models import Policy
from controlplane.resources.models import Resource

ClientAs = Callable[[User | None], APIClient]


def _ask(api: APIClient, **body: object) -> dict:
    payload = {"resource": "appdb", "duration_seconds": 120, "reason": "INC-7", **body}
    response = api.post("/api/v1/access-requests", payload, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def test_alice_asks_erin_approves_and_alice_sees_the_grant(
    client_as: ClientAs, appdb_policy: Policy, developer_alice: User, erin: User
) -> None:
    alice_api = client_as(developer_alice)
    asked = _ask(alice_api, access_level="read-only")
    assert (asked["status"], asked["requester"], asked["grant"]) == ("pending", "alice", None)

    response = client_as(erin).post(
        f"/api/v1/access-requests/{asked['id']}/approve", {"comment": "ok"}, format="json"
    )
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "approved" and body["grant"] is not None
    assert body["approvals"][0] == {**body["approvals"][0], "approver": "erin", "comment": "ok"}

    grants = alice_api.get("/api/v1/grants?active=true").json()["results"]
    assert [(g["id"], g["access_level"], g["request"]) for g in grants] == [
        (body["grant"], "read-only", asked["id"])
    ]


def test_the_list_shows_requesters_their_own_and_approvers_what_they_may_approve(
    client_as: ClientAs, appdb_policy: Policy, developer_alice: User, erin: User, carol: User,
    bob: User, billingdb: Resource,
) -> None:  # fmt: skip
    asked = _ask(client_as(developer_alice))

    def listed(user: User, query: str = "") -> list[str]:
        return [
            r["id"]
            for r in client_as(user).get(f"/api/v1/access-requests{query}").json()["results"]
        ]

    assert listed(developer_alice) == [asked["id"]]
    assert listed(erin) == [asked["id"]]
    assert listed(bob) == [asked["id"]]
    assert listed(carol) == []
    assert listed(erin, "?status=approved") == []
    assert listed(erin, "?resource=appdb&status=pending") == [asked["id"]]


def test_refusals_are_400_or_403_with_a_clear_message(
    client_as: ClientAs, appdb_policy: Policy, developer_alice: User, carol: User,
    billingdb: Resource,
) -> None:  # fmt: skip
    alice_api = client_as(developer_alice)
    too_long = alice_api.post(
        "/api/v1/access-requests",
        {"resource": "appdb", "duration_seconds": 7200, "reason": "INC-7"},
        format="json",
    )
    assert too_long.status_code == 400
    assert "over the policy maximum" in too_long.json()["duration"][0]
    no_policy = alice_api.post(
        "/api/v1/access-requests",
        {"resource": "billingdb", "duration_seconds": 60, "reason": "x"},
        format="json",
    )
    assert no_policy.status_code == 400 and "no access policy" in no_policy.json()["resource"][0]

    asked = _ask(alice_api)
    own = alice_api.post(f"/api/v1/access-requests/{asked['id']}/approve", {}, format="json")
    assert own.status_code == 403
    outsider = client_as(carol).post(f"/api/v1/access-requests/{asked['id']}/deny", format="json")
    assert outsider.status_code == 403 and "approver role" in outsider.json()["detail"]
    assert client_as(None).get("/api/v1/access-requests").status_code == 401


def test_a_requester_withdraws_and_a_decided_request_stays_decided(
    client_as: ClientAs, appdb_policy: Policy, developer_alice: User, erin: User
) -> None:
    asked = _ask(client_as(developer_alice))
    withdrawn = client_as(developer_alice).post(
        f"/api/v1/access-requests/{asked['id']}/withdraw", {"comment": "fixed"}, format="json"
    )
    assert withdrawn.json()["status"] == "withdrawn"
    late = client_as(erin).post(f"/api/v1/access-requests/{asked['id']}/approve", format="json")
    assert late.status_code == 400 and "withdrawn" in late.json()["detail"][0]
    assert AccessRequest.objects.get().status == "withdrawn"


def test_the_approver_withdraws_the_grant_they_approved_through_the_api(
    client_as: ClientAs, appdb_policy: Policy, developer_alice: User, erin: User, carol: User
) -> None:
    asked = _ask(client_as(developer_alice))
    grant_id = (
        client_as(erin)
        .post(f"/api/v1/access-requests/{asked['id']}/approve", format="json")
        .json()["grant"]
    )
    assert client_as(carol).post(f"/api/v1/grants/{grant_id}/revoke").status_code == 403
    revoked = client_as(erin).post(f"/api/v1/grants/{grant_id}/revoke")
    assert revoked.status_code == 200 and revoked.json()["revoked_by"] == "erin"


def test_an_unknown_request_is_404(client_as: ClientAs, erin: User) -> None:
    missing = "00000000-0000-0000-0000-000000000000"
    response = client_as(erin).post(f"/api/v1/access-requests/{missing}/approve", format="json")
    assert response.status_code == 404


def test_the_openapi_schema_describes_the_request_and_policy_endpoints(db: None) -> None:
    response = APIClient().get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert set(response.json()["paths"]) >= {
        "/api/v1/access-requests",
        "/api/v1/access-requests/{request_id}/approve",
        "/api/v1/access-requests/{request_id}/deny",
        "/api/v1/access-requests/{request_id}/withdraw",
        "/api/v1/resources/{name}/policy",
    }
