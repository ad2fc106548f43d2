"""Roles, checked in one place. Views compose these classes with ``&``, ``|`` and ``~``;
selectors that show different rows to different roles call the predicates below."""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request

AUDITORS_GROUP = "auditors"


def is_admin(user: Any) -> bool:
    """Administrators manage identities, resources, agents and grants."""
    return bool(user and user.is_authenticated and user.is_active and user.is_staff)


def is_auditor(user: Any) -> bool:
    """Auditors read the audit log (administrators may too; see the views)."""
    return bool(
        user
        and user.is_authenticated
        and user.is_active
        and user.groups.filter(name=AUDITORS_GROUP).exists()
    )


class IsAdmin(BasePermission):
    message = "administrators only"

    def has_permission(self, request: Request, view: Any) -> bool:
        return is_admin(request.user)


class IsAuditor(BasePermission):
    message = "auditors only"

    def has_permission(self, request: Request, view: Any) -> bool:
        return is_auditor(request.user)


class IsReadOnly(BasePermission):
    def has_permission(self, request: Request, view: Any) -> bool:
        return request.method in SAFE_METHODS
