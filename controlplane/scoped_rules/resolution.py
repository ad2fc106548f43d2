"""Which scoped rule decides: the one rule masking, guardrails and MCP tool rules share.

Of the enabled rules matching a resource (or every resource) and an identity (its kind, and
its groups when the rule names groups), the highest priority wins. Ties go to the most
specific: a resource's own rule over one for every resource, then whatever narrows a kind's
rules further (a named tool over ``*``), a rule naming groups over one naming only a kind, a
kind over everyone; then a kind's own tie-break (the stricter effect), then the name, in
order. No matching rule: None (each caller says what that means).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from django.db import models
from django.db.models import QuerySet

from controlplane.access.models import Grant
from controlplane.identities.models import User
from controlplane.scoped_rules.models import AppliesTo

Rule = TypeVar("Rule", bound=Any)  # a concrete model made by scoped_rule_model

KIND_APPLIES_TO = {
    User.Kind.USER: AppliesTo.PEOPLE,
    User.Kind.SERVICE_ACCOUNT: AppliesTo.SERVICE_ACCOUNTS,
}


@dataclass(frozen=True)
class Subject:
    """What resolution needs to know about an identity."""

    kind: str  # a User.Kind value
    group_ids: frozenset[int]


def _nothing(rule: Any) -> tuple[Any, ...]:
    return ()


def scoped_rules_list(model: type[models.Model]) -> QuerySet[Any]:
    """Every rule of ``model``, by name, with what the API and resolution read."""
    return (
        model._default_manager.select_related("resource", "created_by", "updated_by")
        .prefetch_related("groups")
        .order_by("name")
    )


def scoped_rule_winning(
    *,
    rules: Iterable[Rule],
    resource_id: object,
    subject: Subject,
    narrower: Callable[[Rule], tuple[Any, ...]] = _nothing,
    stricter: Callable[[Rule], tuple[Any, ...]] = _nothing,
) -> Rule | None:
    """The winning rule among ``rules`` (enabled ones, groups prefetched) for
    ``resource_id`` and ``subject``, or None. ``narrower`` and ``stricter`` give a kind's
    own precedence (smallest first) after the resource and before the name."""
    matching = [rule for rule in rules if _matches(rule, resource_id=resource_id, subject=subject)]

    def precedence(rule: Rule) -> tuple[Any, ...]:
        return (
            -rule.priority,
            rule.resource_id is None,
            *narrower(rule),
            not rule.groups.all(),
            rule.applies_to == AppliesTo.EVERYONE,
            *stricter(rule),
            rule.name,
        )

    return min(matching, key=precedence, default=None)


def scoped_rules_for_grants(
    *, rules: Sequence[Rule], grants: Sequence[Grant]
) -> dict[object, Rule | None]:
    """Each grant's winning rule by grant pk, in two queries besides ``rules`` however many
    grants there are (a snapshot resolves every grant of an agent)."""
    subjects = subjects_of({grant.identity_id for grant in grants})
    return {
        grant.pk: scoped_rule_winning(
            rules=rules, resource_id=grant.resource_id, subject=subjects[grant.identity_id]
        )
        for grant in grants
    }


def subject_of(identity: User) -> Subject:
    """One identity's kind and groups."""
    group_ids = frozenset(identity.groups.values_list("pk", flat=True))
    return Subject(kind=identity.kind, group_ids=group_ids)


def subjects_of(identity_ids: set[object]) -> dict[object, Subject]:
    """Each identity's kind and groups, in two queries."""
    memberships: dict[object, set[int]] = defaultdict(set)
    for user_id, group_id in User.groups.through.objects.filter(
        user_id__in=identity_ids
    ).values_list("user_id", "group_id"):
        memberships[user_id].add(group_id)
    kinds = User.objects.filter(pk__in=identity_ids).values_list("pk", "kind")
    return {pk: Subject(kind=kind, group_ids=frozenset(memberships[pk])) for pk, kind in kinds}


def _matches(rule: Any, *, resource_id: object, subject: Subject) -> bool:
    if rule.resource_id is not None and rule.resource_id != resource_id:
        return False
    everyone = rule.applies_to == AppliesTo.EVERYONE
    if not everyone and rule.applies_to != KIND_APPLIES_TO.get(subject.kind):
        return False
    group_ids = {group.pk for group in rule.groups.all()}  # prefetched
    return not group_ids or bool(group_ids & subject.group_ids)
