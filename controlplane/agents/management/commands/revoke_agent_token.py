"""``manage.py revoke_agent_token NAME``"""

from typing import Any

from django.core.management.base import CommandParser

from controlplane.agents.management.commands._agent import agent_named
from controlplane.agents.services import agent_token_revoke
from controlplane.cli import ServiceCommand


class Command(ServiceCommand):
    help = "Revoke an agent's token: refused at once, and a connected agent is disconnected."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name")

    def handle(self, *args: Any, **options: Any) -> None:
        agent = agent_token_revoke(actor=None, agent=agent_named(options["name"]))
        self.stderr.write(
            f"the token of agent {agent.name} is revoked (rotate_agent_token issues a new one)"
        )
