"""The console: sign-in and home, resources and requests (/resources/), grants (/grants/),
the approver's inbox (/inbox/: requests, held statements and tool calls; /approvals/ and
/holds/ lead there), and the person's own grants and gateway tokens (/access/)."""

from django.urls import path
from django.views.generic import RedirectView

from controlplane.web import (
    access_views,
    agents_views,
    audit_views,
    inbox_views,
    replay_views,
    resource_views,
    sessions_views,
    views,
)

app_name = "web"

urlpatterns = [
    path("", views.home, name="home"),
    path("home/access", views.home_access, name="home_access"),
    path("login/", views.login, name="login"),
    path("logout/", views.logout, name="logout"),
    path("resources/", resource_views.resources, name="resources"),
    path("resources/requests", resource_views.my_requests, name="my_requests"),
    path("resources/<slug:name>/", resource_views.resource_detail, name="resource_detail"),
    path(
        "resources/<slug:resource_name>/request",
        resource_views.access_request_new,
        name="access_request_new",
    ),
    path("grants/", resource_views.grants, name="grants"),
    path("grants/<uuid:grant_id>/row", resource_views.grant_row, name="grant_row"),
    path(
        "requests/<uuid:request_id>/withdraw",
        access_views.access_request_withdraw_view,
        name="access_request_withdraw",
    ),
    path("inbox/", inbox_views.inbox, name="inbox"),
    path("inbox/items", inbox_views.inbox_items, name="inbox_items"),
    path("inbox/history", inbox_views.inbox_decisions, name="inbox_decisions"),
    path("inbox/count", inbox_views.inbox_count, name="inbox_count"),
    # The inbox's former pages.
    path("approvals/", RedirectView.as_view(pattern_name="web:inbox"), name="approvals"),
    path("holds/", RedirectView.as_view(pattern_name="web:inbox"), name="holds"),
    path(
        "requests/<uuid:request_id>/decide",
        inbox_views.access_request_decide,
        name="access_request_decide",
    ),
    path("grants/<uuid:grant_id>/revoke", resource_views.grant_revoke_view, name="grant_revoke"),
    path(
        "holds/<uuid:hold_id>/decide",
        inbox_views.statement_hold_decide,
        name="statement_hold_decide",
    ),
    path(
        "holds/tool-calls/<uuid:hold_id>/decide",
        inbox_views.tool_call_hold_decide,
        name="tool_call_hold_decide",
    ),
    path("sessions/<str:session_id>/", replay_views.session_detail, name="session_detail"),
    path("sessions/<str:session_id>/cast", replay_views.session_cast_view, name="session_cast"),
    path(
        "sessions/<str:session_id>/proofs", replay_views.session_proofs_view, name="session_proofs"
    ),
    path("access/", access_views.my_access, name="my_access"),
    path("access/grants", access_views.my_access_grants, name="my_access_grants"),
    path("access/token", access_views.gateway_token, name="gateway_token"),
    path("sessions/", sessions_views.sessions, name="sessions"),
    path("sessions/live", sessions_views.sessions_live, name="sessions_live"),
    path(
        "sessions/<str:session_id>/terminate",
        sessions_views.session_terminate_view,
        name="session_terminate",
    ),
    path("audit/", audit_views.audit, name="audit"),
    path("audit/verify", audit_views.audit_verify, name="audit_verify"),
    path("audit/export", audit_views.audit_export, name="audit_export"),
    path("audit/evidence", audit_views.audit_evidence, name="audit_evidence"),
    path("agents/", agents_views.agents, name="agents"),
]
