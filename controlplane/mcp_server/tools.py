"""The MCP server and its tools: what an AI agent sees and calls.

Each tool is thin: it reads the caller the transport authenticated, checks its arguments,
names its resource and hands its work to ``calls.tool_call_run`` (rule, hold, audit).
Results are JSON objects, as structured content and as their text, so a model reads the
same thing whichever it looks at; errors are error results (``isError``) with a ``code``
and a ``message`` written for the model.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import timedelta
from typing import Annotated, Any

from channels.db import database_sync_to_async as db
from mcp.server.mcpserver import Context, MCPServer
from mcp_types import CallToolResult, TextContent, ToolAnnotations
from pydantic import Field

from controlplane.mcp_server.calls import ToolCall, ToolRefused, ToolResult, tool_call_run
from controlplane.mcp_server.execution import database_query, http_call
from controlplane.mcp_server.requests import MAX_WAIT_SECONDS, access_request_and_wait
from controlplane.mcp_server.selectors import Reachable, resource_named, resources_reachable_by
from controlplane.mcp_server.transport import caller_of, correlation_id_of

INSTRUCTIONS = """\
Gatehouse gives you audited, just-in-time access to databases and HTTP APIs.
Start with list_resources: it shows what you hold a grant on and what you may request.
Without a grant, call request_access with a reason; then query_database (PostgreSQL
resources) or call_http (HTTP and LLM API resources). Results may be masked; every call is
audited, and some calls wait for a person to approve them."""

MAX_ROWS_CAP = 10000

server = MCPServer(name="gatehouse", title="Gatehouse", instructions=INSTRUCTIONS)

ResourceName = Annotated[
    str, Field(description="The resource's name, as list_resources shows it.", max_length=63)
]


@server.tool(
    name="list_resources",
    description="List the resources you hold an active grant on or may request access to: "
    "name, protocol, which tool reaches it, and your grant's expiry.",
    annotations=ToolAnnotations(read_only_hint=True, open_world_hint=False),
)
async def list_resources(ctx: Context) -> CallToolResult:
    call = _call(ctx, "list_resources", {}, resource=None)

    async def work() -> ToolResult:
        reachable = await db(resources_reachable_by)(identity=call.caller.identity)
        return ToolResult(payload={"resources": [_reachable_document(r) for r in reachable]})

    return _result(await tool_call_run(call, work))


@server.tool(
    name="query_database",
    description="Run one SQL statement on a PostgreSQL resource you have a grant on and get "
    "its rows as JSON (columns, rows, row_count, truncated). Results may be masked by policy; "
    "guardrails may refuse or hold a statement.",
    annotations=ToolAnnotations(destructive_hint=True, open_world_hint=False),
)
async def query_database(
    ctx: Context,
    resource: ResourceName,
    sql: Annotated[str, Field(description="One SQL statement.", min_length=1, max_length=100_000)],
    max_rows: Annotated[
        int, Field(description="Return at most this many rows.", ge=1, le=MAX_ROWS_CAP)
    ] = 1000,
) -> CallToolResult:
    arguments = {"resource": resource, "sql": sql, "max_rows": max_rows}
    return await _on_resource(ctx, "query_database", arguments, protocols=("postgres",))


@server.tool(
    name="call_http",
    description="Send one HTTP request to an HTTP or LLM API resource you have a grant on "
    "(through the gateway, which adds the upstream's credentials). Returns the status, "
    "headers and body.",
    annotations=ToolAnnotations(destructive_hint=True, open_world_hint=True),
)
async def call_http(
    ctx: Context,
    resource: ResourceName,
    method: Annotated[
        str, Field(description="GET, POST, PUT, PATCH, DELETE, HEAD or OPTIONS.", max_length=7)
    ],
    path: Annotated[
        str,
        Field(
            description="The path (and query) on the resource, starting with /.",
            pattern=r"^/",
            max_length=8192,
        ),
    ],
    headers: Annotated[dict[str, str] | None, Field(description="Extra request headers.")] = None,
    body: Annotated[str | None, Field(description="The request body, as text.")] = None,
) -> CallToolResult:
    arguments = {
        "resource": resource,
        "method": method.upper(),
        "path": path,
        "headers": headers or {},
        "body": body,
    }
    return await _on_resource(ctx, "call_http", arguments, protocols=("http", "llm"))


@server.tool(
    name="request_access",
    description="Ask for access to a resource for a while, with a reason, and wait up to "
    "wait_seconds for the decision. Returns granted, denied or pending with the request id "
    "(pending: call again later; an approver has not decided yet).",
    annotations=ToolAnnotations(destructive_hint=False, open_world_hint=False),
)
async def request_access(
    ctx: Context,
    resource: ResourceName,
    reason: Annotated[
        str, Field(description="Why you need access (approvers read this).", min_length=1)
    ],
    duration_minutes: Annotated[
        int, Field(description="How long you need access, in minutes.", ge=1, le=30 * 24 * 60)
    ],
    wait_seconds: Annotated[
        int, Field(description="How long to wait for a decision.", ge=0, le=MAX_WAIT_SECONDS)
    ] = 60,
) -> CallToolResult:
    arguments = {
        "resource": resource,
        "reason": reason,
        "duration_minutes": duration_minutes,
        "wait_seconds": wait_seconds,
    }
    found = await db(resource_named)(name=resource)
    call = _call(ctx, "request_access", arguments, resource=found)

    async def work() -> ToolResult:
        _require_resource(call)
        duration = timedelta(minutes=duration_minutes)
        return await access_request_and_wait(
            call, reason=reason, duration=duration, wait_seconds=wait_seconds
        )

    return _result(await tool_call_run(call, work))


async def _on_resource(
    ctx: Context, tool: str, arguments: dict[str, Any], *, protocols: tuple[str, ...]
) -> CallToolResult:
    """query_database and call_http: the resource must exist and speak one of ``protocols``;
    the exec service checks the grant and runs the call through the agent."""
    found = await db(resource_named)(name=arguments["resource"])
    call = _call(ctx, tool, arguments, resource=found)

    async def work() -> ToolResult:
        resource = _require_resource(call)
        if resource.protocol not in protocols:
            raise ToolRefused(
                "wrong_tool",
                f"{resource.name} is a {resource.protocol} resource: "
                + ("use query_database" if resource.protocol == "postgres" else "use call_http"),
            )
        run = database_query if tool == "query_database" else http_call
        return await run(call)

    return _result(await tool_call_run(call, work))


def _call(ctx: Context, tool: str, arguments: Mapping[str, Any], *, resource: Any) -> ToolCall:
    request = ctx.request_context.request
    return ToolCall(
        caller=caller_of(request),
        tool=tool,
        arguments=dict(arguments),
        resource=resource,
        correlation_id=correlation_id_of(request),
    )


def _require_resource(call: ToolCall) -> Any:
    if call.resource is None:
        name = call.arguments.get("resource", "")
        raise ToolRefused(
            "unknown_resource",
            f"there is no resource named {name!r}; list_resources shows the ones you can use",
        )
    return call.resource


def _reachable_document(reachable: Reachable) -> dict[str, Any]:
    resource, grant = reachable.resource, reachable.grant
    maximum = reachable.max_duration_seconds
    return {
        "name": resource.name,
        "protocol": resource.protocol,
        "tool": "query_database" if resource.protocol == "postgres" else "call_http",
        "grant": None
        if grant is None
        else {"expires_at": grant.expires_at.isoformat(), "access_level": grant.access_level},
        "may_request": reachable.may_request,
        "max_duration_minutes": maximum // 60 if maximum is not None else None,
    }


def _result(result: ToolResult) -> CallToolResult:
    text = json.dumps(result.payload, ensure_ascii=False, default=str)
    return CallToolResult(
        content=[TextContent(type="text", text=text)],
        structured_content=json.loads(text),  # exactly the text's JSON, whatever the payload held
        is_error=result.is_error,
    )
