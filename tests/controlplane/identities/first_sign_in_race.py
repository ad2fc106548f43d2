"""Run by ``test_first_sign_in_race.py`` in a child process whose ``DATABASE_URL`` names a
throwaway PostgreSQL cluster (the unit suite's database is SQLite, which serialises writers
and so cannot show this race).

Two threads sign in the same new person at the same time, and the interleaving that loses
on PostgreSQL is forced rather than hoped for: a third connection holds a lock on the
person's group, so the first sign-in stops at its commit after inserting the user and link;
the second is then started and stops inserting the same username; only when both are seen
waiting in ``pg_stat_activity`` is the lock released. Prints one JSON report.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from typing import Any

import django

GROUP = "engineers"
ISSUER = "https://idp.example.test"


def main(method: str) -> dict[str, Any]:
    from django.contrib.auth.models import Group
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    Group.objects.get_or_create(name=GROUP)
    claims = {"sub": f"{method}-alice", "preferred_username": "alice", "groups": [GROUP]}
    outcomes: list[Any] = []
    with group_locked() as waiting:
        first = sign_in_thread(claims, method, outcomes)
        waiting(count=1)
        second = sign_in_thread(claims, method, outcomes)
        waiting(count=2)
    for thread in (first, second):
        thread.join(timeout=60)
    return report(outcomes, claims["sub"])


def sign_in_thread(claims: dict[str, Any], method: str, outcomes: list[Any]) -> threading.Thread:
    from django.db import connection

    from controlplane.identities.signin import SignInMethod, external_identity_sign_in

    def run() -> None:
        try:
            user = external_identity_sign_in(
                issuer=ISSUER, claims=claims, groups_claim="groups", method=SignInMethod(method)
            )
            outcomes.append(str(user.pk))
        except Exception as exc:  # reported to the test, which names it
            outcomes.append(f"error: {type(exc).__name__}: {exc}")
        finally:
            connection.close()

    thread = threading.Thread(target=run, name=f"sign-in-{len(outcomes)}")
    thread.start()
    return thread


class group_locked:
    """A separate connection holding the group row FOR UPDATE (the user-group link's
    foreign key check needs a share lock on it) until the block ends."""

    def __enter__(self) -> Any:
        import psycopg

        self.conn = psycopg.connect(os.environ["RACE_DSN"])
        self.conn.execute("SELECT id FROM auth_group WHERE name = %s FOR UPDATE", (GROUP,))
        # Its own connection: statistics views are frozen for the length of a transaction.
        self.watcher = psycopg.connect(os.environ["RACE_DSN"], autocommit=True)
        return self.waiting

    def waiting(self, *, count: int, timeout_s: float = 30.0) -> None:
        deadline = time.monotonic() + timeout_s
        sql = "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
        while time.monotonic() < deadline:
            row = self.watcher.execute(sql).fetchone()
            if row is not None and row[0] >= count:
                return
            time.sleep(0.02)
        raise TimeoutError(f"fewer than {count} sign-ins waiting on a lock")

    def __exit__(self, *exc: object) -> None:
        self.conn.commit()
        self.conn.close()
        self.watcher.close()


def report(outcomes: list[Any], subject: str) -> dict[str, Any]:
    from controlplane.identities.models import ExternalIdentity, User

    links = ExternalIdentity.objects.filter(subject=subject)
    return {
        "outcomes": outcomes,
        "links": links.count(),
        "users": sorted(
            User.objects.filter(username__startswith="alice").values_list("username", flat=True)
        ),
        "linked_user": str(links.first().user_id) if links.exists() else None,
    }


if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "controlplane.settings")
    django.setup()
    print(json.dumps(main(sys.argv[1])))
