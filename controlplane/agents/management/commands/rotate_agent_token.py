"""``manage.py rotate_agent_token NAME [--token-out FILE]``"""

from typing import Any

from django.core.management.base import CommandParser

from controlplane.agents.management.commands._agent import agent_named
from controlplane.agents.services import agent_token_rotate
from controlplane.cli import ServiceCommand


class Command(ServiceCommand):
    help = "Issue an agent a new token and print it; the old one is refused at once."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name")
        parser.add_argument("--token-out", metavar="FILE", help="write the token here (mode 0600)")

    def handle(self, *args: Any, **options: Any) -> None:
        issued = agent_token_rotate(actor=None, agent=agent_named(options["name"]))
        self.emit_secret(
            secret=issued.token,
            out_path=options["token_out"],
            what=f"the new token of agent {issued.agent.name}",
        )
