"""Scoped rules: what masking policies, guardrail policies and MCP tool rules share.

Each names *who* it applies to (people, service accounts or both, optionally only members of
some groups) and *where* (one resource or every resource), with a priority and an enabled
flag; for a grant or a call the highest-priority enabled rule that matches wins (see
``resolution``). This package holds those fields once (``models.scoped_rule_model``), the
resolution, the writes with their audit events (``services``) and the CRUD API
(``serializers``, ``apis``); each app adds what its rules say.
"""
