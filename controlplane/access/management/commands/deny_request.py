"""``manage.py deny_request REQUEST_ID --as APPROVER [--comment TEXT]``"""

from typing import Any

from controlplane.access.management.commands._decision import DecisionCommand
from controlplane.access.services import access_request_deny


class Command(DecisionCommand):
    help = "Deny an access request as APPROVER; prints the request's status."

    def handle(self, *args: Any, **options: Any) -> None:
        self.decide(access_request_deny, options)
