"""``manage.py create_agent NAME [--token-out FILE] [--exists-ok]``"""

from typing import Any

from django.core.management.base import CommandError, CommandParser

from controlplane.agents.models import Agent
from controlplane.agents.selectors import agent_get
from controlplane.agents.services import agent_register
from controlplane.cli import ServiceCommand


class Command(ServiceCommand):
    help = "Register a data-plane agent and print the token its websocket authenticates with."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name")
        parser.add_argument("--token-out", metavar="FILE", help="write the token here (mode 0600)")
        parser.add_argument(
            "--exists-ok",
            action="store_true",
            help="if the agent exists already, do nothing and exit 0 (no new token is issued)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        name = options["name"]
        try:
            agent_get(name=name)
        except Agent.DoesNotExist:
            pass
        else:
            if options["exists_ok"]:
                self.stderr.write(f"agent {name} exists already; nothing done")
                return
            raise CommandError(f"an agent named {name!r} exists already (see --exists-ok)")
        issued = agent_register(actor=None, name=name)
        self.emit_secret(
            secret=issued.token, out_path=options["token_out"], what=f"the token of agent {name}"
        )
