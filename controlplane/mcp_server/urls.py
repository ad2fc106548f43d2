from django.urls import path

from controlplane.mcp_server import apis

urlpatterns = [
    path("mcp-tool-rules", apis.ToolRuleListCreateApi.as_view(), name="mcp-tool-rules"),
    path("mcp-tool-rules/<slug:name>", apis.ToolRuleDetailApi.as_view(), name="mcp-tool-rule"),
    path("tool-call-holds", apis.ToolCallHoldListApi.as_view(), name="tool-call-holds"),
    path(
        "tool-call-holds/<uuid:hold_id>/approve",
        apis.ToolCallHoldApproveApi.as_view(),
        name="tool-call-hold-approve",
    ),
    path(
        "tool-call-holds/<uuid:hold_id>/deny",
        apis.ToolCallHoldDenyApi.as_view(),
        name="tool-call-hold-deny",
    ),
]
