"""What the console shows to whom. The role predicates live in ``identities.permissions``
(administrator, auditor) and ``policies.selectors`` (requester and approver of one policy);
this module only combines them for navigation and buttons, so every page asks here."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from controlplane.identities.permissions import is_admin, is_auditor
from controlplane.web.selectors import policies_approvable_by


@dataclass(frozen=True)
class ConsoleRoles:
    admin: bool
    approver: bool
    auditor: bool

    @property
    def names(self) -> tuple[str, ...]:
        """The roles to show next to the person's name ("requester" when none)."""
        held = ("admin", self.admin), ("approver", self.approver and not self.admin)
        named = tuple(name for name, has in (*held, ("auditor", self.auditor)) if has)
        return named or ("requester",)


def console_roles(user: Any) -> ConsoleRoles:
    """The roles ``user`` holds anywhere (an approver of at least one policy, say)."""
    if not (user and user.is_authenticated and user.is_active):
        return ConsoleRoles(admin=False, approver=False, auditor=False)
    admin = is_admin(user)
    approver = admin or policies_approvable_by(user=user).exists()
    return ConsoleRoles(admin=admin, approver=approver, auditor=is_auditor(user))
