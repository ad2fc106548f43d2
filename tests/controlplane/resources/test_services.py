"""Resources: upstream passwords are encrypted at rest and never leave in clear."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from controlplane.agents.revision import config_revision_current
from controlplane.agents.services import IssuedAgent
from controlplane.audit.models import AuditEvent
from controlplane.identities.models import User
from controlplane.resources.models import Resource
from controlplane.resources.selectors import resource_upstream_password
from controlplane.resources.services import resource_update
from tests.controlplane.conftest import UPSTREAM_PASSWORD, make_resource


def _raw_row(resource: Resource) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {Resource._meta.db_table} WHERE id = %s", [resource.pk])
        return repr(cursor.fetchone())


def test_the_database_column_holds_ciphertext_not_the_password(appdb: Resource) -> None:
    assert UPSTREAM_PASSWORD not in _raw_row(appdb)
    assert resource_upstream_password(resource=appdb) == UPSTREAM_PASSWORD


def test_the_password_appears_in_no_audit_payload(appdb: Resource) -> None:
    assert UPSTREAM_PASSWORD not in repr(list(AuditEvent.objects.values()))


def test_creating_a_resource_bumps_the_config_revision(edge: IssuedAgent) -> None:
    before = config_revision_current()
    make_resource("appdb", edge)
    assert config_revision_current() == before + 1


def test_names_must_be_slugs_and_unique(edge: IssuedAgent, appdb: Resource) -> None:
    with pytest.raises(ValidationError):
        make_resource("appdb", edge)
    with pytest.raises(ValidationError):
        make_resource("not a dbname!", edge)


def test_ports_must_be_valid(appdb: Resource) -> None:
    with pytest.raises(ValidationError, match="port"):
        resource_update(actor=None, resource=appdb, data={"port": 70000})


def test_updating_the_password_re_encrypts_it_and_records_only_the_field_name(
    bob: User, appdb: Resource
) -> None:
    resource_update(
        actor=bob, resource=appdb, data={"upstream_password": "rotated-pw", "port": 6543}
    )
    appdb.refresh_from_db()
    assert resource_upstream_password(resource=appdb) == "rotated-pw"
    assert "rotated-pw" not in _raw_row(appdb)
    event = AuditEvent.objects.filter(action="resource.updated").get()
    assert event.payload["changed"] == ["port", "upstream_password"]
    assert "rotated-pw" not in repr(event.payload)


def test_an_update_that_changes_nothing_records_nothing(bob: User, appdb: Resource) -> None:
    before = config_revision_current()
    resource_update(
        actor=bob, resource=appdb, data={"port": 5432, "upstream_password": UPSTREAM_PASSWORD}
    )
    assert config_revision_current() == before
    assert not AuditEvent.objects.filter(action="resource.updated").exists()


def test_a_resource_name_cannot_change(bob: User, appdb: Resource) -> None:
    with pytest.raises(ValidationError, match="cannot change"):
        resource_update(actor=bob, resource=appdb, data={"name": "renamed"})
