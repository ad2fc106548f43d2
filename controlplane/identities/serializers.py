"""Request and response shapes for the identities API."""

from rest_framework import serializers


class TokenMintInputSerializer(serializers.Serializer):
    ttl_seconds = serializers.IntegerField(
        required=False, min_value=1, help_text="Capped to the configured maximum."
    )
    identity = serializers.CharField(
        required=False, max_length=150, help_text="Username to mint for (administrators only)."
    )


class TokenOutputSerializer(serializers.Serializer):
    token = serializers.CharField()
    token_type = serializers.CharField()
    expires_at = serializers.DateTimeField()


class ServiceAccountInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=150)


class ServiceAccountOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField(source="username")
    kind = serializers.CharField()
    is_active = serializers.BooleanField()
    created_at = serializers.DateTimeField(source="date_joined")
    api_key_count = serializers.IntegerField(required=False)


class ApiKeyCreatedSerializer(serializers.Serializer):
    prefix = serializers.CharField(source="api_key.prefix")
    created_at = serializers.DateTimeField(source="api_key.created_at")
    api_key = serializers.CharField(source="plaintext", help_text="Shown only in this response.")


class ApiKeyOutputSerializer(serializers.Serializer):
    prefix = serializers.CharField()
    identity = serializers.CharField(source="user.username")
    created_at = serializers.DateTimeField()
    last_used_at = serializers.DateTimeField(allow_null=True)
    revoked_at = serializers.DateTimeField(allow_null=True)


class DeactivateInputSerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, default="", max_length=500, allow_blank=True)


class ServiceAccountCreatedSerializer(ServiceAccountOutputSerializer):
    api_key = serializers.CharField(help_text="Shown only in this response.")


class AuthConfigOutputSerializer(serializers.Serializer):
    issuer = serializers.CharField(allow_null=True, help_text="The OpenID provider, if any.")
    cli_client_id = serializers.CharField(
        allow_null=True, help_text="The command line's public client (device flow)."
    )
    scopes = serializers.CharField(allow_null=True)
    agent_postgres_address = serializers.CharField(
        allow_null=True, help_text="host:port where people reach the agent with psql."
    )


class WhoAmIOutputSerializer(serializers.Serializer):
    username = serializers.CharField()
    kind = serializers.CharField()
    groups = serializers.ListField(child=serializers.CharField())
