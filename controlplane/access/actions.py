"""Audit actions of the request/approval workflow (kept beside the app until the audit
app's ``ControlPlaneAction`` takes them over; grant.created and grant.revoked are there)."""

from enum import StrEnum


class AccessAction(StrEnum):
    REQUEST_CREATED = "access_request.created"
    # One approver's vote; the request is approved once enough votes are in.
    REQUEST_APPROVAL_ADDED = "access_request.approval_added"
    REQUEST_APPROVED = "access_request.approved"
    REQUEST_DENIED = "access_request.denied"
    REQUEST_WITHDRAWN = "access_request.withdrawn"
    REQUEST_EXPIRED = "access_request.expired"
    GRANT_ENDED = "grant.ended"
