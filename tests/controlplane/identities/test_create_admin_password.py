"""``create_admin --password-stdin``: a password for the bootstrap administrator's local
sign-in, read from stdin so it never appears in argv or shell history."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from controlplane.identities.models import User

PASSWORD = "correct horse battery staple"


def create_admin(*args: str, stdin: str) -> str:
    err = StringIO()
    call_command("create_admin", *args, stdin=StringIO(stdin), stdout=StringIO(), stderr=err)
    return err.getvalue()


def test_the_password_is_read_from_stdin(db: None) -> None:
    create_admin("bob", "--password-stdin", stdin=PASSWORD + "\n")
    assert User.objects.get(username="bob").check_password(PASSWORD)


def test_without_the_flag_there_is_no_usable_password(db: None) -> None:
    create_admin("bob", stdin=PASSWORD)
    assert not User.objects.get(username="bob").has_usable_password()


def test_a_weak_password_leaves_no_administrator_behind(db: None) -> None:
    with pytest.raises(CommandError, match="too common"):
        create_admin("bob", "--password-stdin", stdin="password\n")
    assert not User.objects.filter(username="bob").exists()


def test_an_empty_stdin_is_an_error(db: None) -> None:
    with pytest.raises(CommandError, match="no password"):
        create_admin("bob", "--password-stdin", stdin="")


def test_exists_ok_sets_the_password_of_the_existing_administrator(db: None) -> None:
    create_admin("bob", stdin="")
    err = create_admin("bob", "--exists-ok", "--password-stdin", stdin=PASSWORD)
    assert "password set" in err
    assert User.objects.get(username="bob").check_password(PASSWORD)
