"""Request and response shapes for the resources API. The upstream password is
write-only: no response ever carries it."""

from rest_framework import serializers

from controlplane.agents.selectors import agents_list
from controlplane.resources.models import ACCESS_LEVEL_NAME, UPSTREAM_ROLE, Resource
from controlplane.resources.protocols import protocol_choices


class AccessLevelSerializer(serializers.Serializer):
    name = serializers.RegexField(ACCESS_LEVEL_NAME.pattern, max_length=63)
    upstream_role = serializers.RegexField(UPSTREAM_ROLE.pattern, max_length=63)


class ResourceSerializer(serializers.Serializer):
    name = serializers.SlugField(max_length=63)
    protocol = serializers.ChoiceField(choices=protocol_choices())
    host = serializers.CharField(max_length=255)
    port = serializers.IntegerField(min_value=1, max_value=65535)
    database = serializers.CharField(max_length=63)
    upstream_user = serializers.CharField(max_length=63)
    # Blank is allowed: an upstream that trusts the gateway's address needs no password.
    upstream_password = serializers.CharField(
        write_only=True, trim_whitespace=False, allow_blank=True, style={"input_type": "password"}
    )
    upstream_tls = serializers.ChoiceField(
        choices=Resource.Tls.choices, default=Resource.Tls.PREFER
    )
    credential_mode = serializers.ChoiceField(
        choices=Resource.CredentialMode.choices, default=Resource.CredentialMode.STATIC
    )
    access_levels = AccessLevelSerializer(many=True, required=False, default=list)
    default_access_level = serializers.CharField(
        max_length=63, required=False, allow_blank=True, default=""
    )
    agent = serializers.SlugRelatedField(slug_field="name", queryset=agents_list())
    created_at = serializers.DateTimeField(read_only=True)
