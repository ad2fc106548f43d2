"""Masking policy API: administrators write; administrators and auditors read (the scoped
rules' API, ``scoped_rules.apis``)."""

from __future__ import annotations

from controlplane.masking.serializers import MaskingPolicySerializer
from controlplane.masking.services import MASKING_POLICIES
from controlplane.scoped_rules.apis import ScopedRuleDetailApi, ScopedRuleListCreateApi


class MaskingPolicies:
    kind = MASKING_POLICIES
    serializer = MaskingPolicySerializer
    operations = "masking_policies"


class MaskingPolicyListCreateApi(MaskingPolicies, ScopedRuleListCreateApi):
    pass


class MaskingPolicyDetailApi(MaskingPolicies, ScopedRuleDetailApi):
    pass
