from django.apps import AppConfig


class McpServerConfig(AppConfig):
    # Not "mcp": that is the SDK's top-level package.
    name = "controlplane.mcp_server"
    label = "mcp_server"
    verbose_name = "MCP server"
