"""Building the config snapshot one agent receives."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.utils import timezone

from controlplane.access.models import Grant
from controlplane.access.selectors import grants_not_ended_on
from controlplane.agents.models import Agent
from controlplane.agents.revision import config_revision_current
from controlplane.guardrails.models import GuardrailPolicy
from controlplane.guardrails.selectors import guardrail_policies_for_grants, guardrail_profile_spec
from controlplane.identities.models import SigningKey
from controlplane.identities.tokens import signing_key_current, signing_keys_verifying
from controlplane.masking.keys import masking_key_hex
from controlplane.masking.models import MaskingPolicy
from controlplane.masking.selectors import masking_policies_for_grants, masking_profile_spec
from controlplane.resources.models import Resource
from controlplane.resources.selectors import resource_upstream_password, resources_served_by
from dataplane.contract import (
    GrantScope,
    GrantSpec,
    MaskingProfile,
    ResourceSpec,
    Snapshot,
    TokenKey,
    http_settings_from_dict,
)
from dataplane.contract.snapshot import AccessLevel, GuardrailProfile


def agent_snapshot_build(*, agent: Agent) -> Snapshot:
    """Everything ``agent`` needs and nothing more: its own resources with their upstream
    credentials, the grants on them that have not ended (future ones with their start;
    the agent starts and ends them on time), every key that verifies a live token, and the
    masking profiles those grants use (only those) with the deployment's masking key, and
    the guardrail profiles they use (only those)."""
    # An agent must never hold a snapshot without a verification key: a token minted right
    # after would be refused until the next push. The first build creates the first key.
    signing_key_current()
    # Read the revision before the data: a change racing with this build then yields a
    # snapshot labelled older than its content, and the next push delivers it again.
    # (The other order could label stale content with a revision the agent already has.)
    revision = config_revision_current()
    now = timezone.now()
    resources = list(resources_served_by(agent=agent))
    grants = list(grants_not_ended_on(resources=resources, at=now))
    masking = masking_policies_for_grants(grants=grants)
    profiles = _masking_profiles(masking.values())
    guardrails = guardrail_policies_for_grants(grants=grants)
    return Snapshot(
        revision=revision,
        agent_id=str(agent.pk),
        agent_name=agent.name,
        token_keys=tuple(_token_key(key) for key in signing_keys_verifying(at=now)),
        resources=tuple(_resource_spec(resource) for resource in resources),
        grants=tuple(
            _grant_spec(grant, at=now, masking=masking[grant.pk], guardrails=guardrails[grant.pk])
            for grant in grants
        ),
        masking_profiles=profiles,
        # Only an agent with masked grants holds the key.
        masking_key=masking_key_hex() if profiles else "",
        guardrail_profiles=_guardrail_profiles(guardrails.values()),
    )


def _masking_profiles(policies: Iterable[MaskingPolicy | None]) -> tuple[MaskingProfile, ...]:
    used = {policy.name: policy for policy in policies if policy is not None}
    return tuple(masking_profile_spec(used[name]) for name in sorted(used))


def _guardrail_profiles(
    policies: Iterable[GuardrailPolicy | None],
) -> tuple[GuardrailProfile, ...]:
    used = {policy.name: policy for policy in policies if policy is not None}
    return tuple(guardrail_profile_spec(used[name]) for name in sorted(used))


def _token_key(key: SigningKey) -> TokenKey:
    return TokenKey(kid=key.kid, alg=SigningKey.ALGORITHM, public_key_pem=key.public_key_pem)


def _resource_spec(resource: Resource) -> ResourceSpec:
    return ResourceSpec(
        name=resource.name,
        protocol=resource.protocol,
        host=resource.host,
        port=resource.port,
        database=resource.database,
        upstream_user=resource.upstream_user,
        upstream_password=resource_upstream_password(resource=resource),
        upstream_tls=resource.upstream_tls,
        credential_mode=resource.credential_mode,
        access_levels=tuple(AccessLevel(**level) for level in resource.access_levels),
        default_access_level=resource.default_access_level,
        # The agent's own reader (the model checked the document with it on write): should
        # it ever refuse a stored document, the build fails here, loudly, rather than ship
        # a snapshot the agent would refuse whole.
        http=http_settings_from_dict(resource.http_settings) if resource.speaks_http else None,
    )


def _grant_spec(
    grant: Grant,
    *,
    at: datetime,
    masking: MaskingPolicy | None,
    guardrails: GuardrailPolicy | None,
) -> GrantSpec:
    return GrantSpec(
        id=str(grant.pk),
        identity=str(grant.identity_id),
        resource=grant.resource.name,
        expires_at=grant.expires_at,
        # None tells the agent "already started" (and keeps format-1 readers' meaning).
        starts_at=grant.starts_at if grant.starts_at > at else None,
        access_level=grant.access_level,
        scope=GrantScope(grant.scope),
        masking=masking.name if masking else "",
        guardrails=guardrails.name if guardrails else "",
    )
