"""Personas and fixtures for control-plane tests.

alice is a plain user (a requester), bob an administrator (he grants access), carol an
auditor, and agent-smith an AI service account. edge-1 and edge-2 are data-plane agents;
appdb is served by edge-1, billingdb by edge-2.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from cryptography.fernet import Fernet
from django.contrib.auth.models import Group
from rest_framework.test import APIClient

from controlplane.access.models import Grant
from controlplane.access.services import grant_create
from controlplane.agents.services import IssuedAgent, agent_register
from controlplane.audit import triggers
from controlplane.identities.models import User
from controlplane.identities.permissions import AUDITORS_GROUP
from controlplane.identities.services import admin_create, api_key_create, service_account_create
from controlplane.resources.models import Resource
from controlplane.resources.services import resource_create

UPSTREAM_PASSWORD = "s3cret-upstream-pw"


@pytest.fixture(autouse=True)
def _rate_limit_counters_reset() -> Iterator[None]:
    """Every test starts with the credential endpoints' rate-limit counters at zero (they
    live in the in-process cache and would otherwise carry over between tests)."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True, scope="session")
def _audit_tables_flushable() -> Iterator[None]:
    """Transactional tests empty every table between tests, which the audit tables'
    append-only triggers refuse: only here, the flush lifts them around its deletes."""
    from django.core.management.commands import flush

    original = flush.sql_flush

    def sql_flush(style: Any, connection: Any, **options: Any) -> list[str]:
        return triggers.flush_sql(connection.vendor, original(style, connection, **options))

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(flush, "sql_flush", sql_flush)
        yield


@pytest.fixture
def fernet_key() -> str:
    return Fernet.generate_key().decode("ascii")


@pytest.fixture
def alice(db: None) -> User:
    return User.objects.create_user(username="alice", email="alice@example.com")


@pytest.fixture
def bob(db: None) -> User:
    user, _ = admin_create(actor=None, username="bob", email="bob@example.com")
    return user


@pytest.fixture
def carol(db: None) -> User:
    user = User.objects.create_user(username="carol", email="carol@example.com")
    user.groups.add(Group.objects.get_or_create(name=AUDITORS_GROUP)[0])
    return user


@pytest.fixture
def agent_smith(db: None) -> User:
    account, _ = service_account_create(actor=None, name="agent-smith")
    return account


@pytest.fixture
def api_key_of(db: None) -> Callable[[User], str]:
    """A fresh API key for any persona."""
    return lambda user: api_key_create(actor=None, user=user).plaintext


@pytest.fixture
def client_as(api_key_of: Callable[[User], str]) -> Callable[[User | None], APIClient]:
    """A REST client authenticated with the persona's API key (anonymous for None)."""

    def client(user: User | None) -> APIClient:
        api = APIClient()
        if user is not None:
            api.credentials(HTTP_AUTHORIZATION=f"ApiKey {api_key_of(user)}")
        return api

    return client


@pytest.fixture
def edge(db: None) -> IssuedAgent:
    return agent_register(actor=None, name="edge-1")


@pytest.fixture
def edge2(db: None) -> IssuedAgent:
    return agent_register(actor=None, name="edge-2")


def make_resource(name: str, issued: IssuedAgent, password: str = UPSTREAM_PASSWORD) -> Resource:
    return resource_create(
        actor=None,
        name=name,
        protocol="postgres",
        host="db.internal",
        port=5432,
        database=name,
        upstream_user=f"{name}_owner",
        upstream_password=password,
        agent=issued.agent,
    )


@pytest.fixture
def appdb(edge: IssuedAgent) -> Resource:
    return make_resource("appdb", edge)


@pytest.fixture
def billingdb(edge2: IssuedAgent) -> Resource:
    return make_resource("billingdb", edge2, password="billing-pw")


@pytest.fixture
def smith_on_appdb(bob: User, agent_smith: User, appdb: Resource) -> Grant:
    return grant_create(
        actor=bob,
        identity=agent_smith,
        resource=appdb,
        duration=timedelta(hours=1),
        reason="nightly report",
    )
