"""Request and response shapes for the resources API. The upstream password (for http and
llm resources the API key or client secret) is write-only: no response ever carries it."""

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
    # PostgreSQL resources need both (the model checks); http and llm resources leave the
    # database out, and the user too unless basic auth or OAuth needs it.
    database = serializers.CharField(max_length=63, required=False, allow_blank=True, default="")
    upstream_user = serializers.CharField(
        max_length=63, required=False, allow_blank=True, default=""
    )
    # Blank is allowed: an upstream that trusts the gateway's address needs no password,
    # an HTTP API with auth "none" no key.
    upstream_password = serializers.CharField(
        write_only=True,
        trim_whitespace=False,
        required=False,
        allow_blank=True,
        default="",
        style={"input_type": "password"},
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
    # http and llm resources: the contract's HttpSettings document (checked by the model);
    # it holds no secret, so it is read back as stored.
    http = serializers.DictField(source="http_settings", required=False, default=dict)
    agent = serializers.SlugRelatedField(slug_field="name", queryset=agents_list())
    created_at = serializers.DateTimeField(read_only=True)
