"""Request and response shapes for the federation API and the token exchange."""

from rest_framework import serializers

from controlplane.federation.models import ALLOWED_ALGORITHMS, MAX_LEEWAY_SECONDS


class TrustedIssuerInputSerializer(serializers.Serializer):
    name = serializers.SlugField(max_length=64)
    issuer = serializers.CharField(max_length=500, help_text="The exact `iss` value.")
    audience = serializers.CharField(max_length=500)
    algorithms = serializers.ListField(
        child=serializers.ChoiceField(choices=ALLOWED_ALGORITHMS), allow_empty=False
    )
    jwks_url = serializers.CharField(
        max_length=500, required=False, default="", help_text="Empty: OIDC discovery."
    )
    introspection_url = serializers.CharField(max_length=500, required=False, default="")
    introspection_client_id = serializers.CharField(max_length=255, required=False, default="")
    introspection_client_secret = serializers.CharField(
        required=False, default="", write_only=True, help_text="Stored encrypted; never shown."
    )
    leeway_seconds = serializers.IntegerField(
        required=False, default=30, min_value=0, max_value=MAX_LEEWAY_SECONDS
    )


class TrustedIssuerOutputSerializer(serializers.Serializer):
    name = serializers.CharField()
    issuer = serializers.CharField()
    audience = serializers.CharField()
    algorithms = serializers.ListField(child=serializers.CharField())
    jwks_url = serializers.CharField()
    introspection_url = serializers.CharField()
    introspection_client_id = serializers.CharField()
    leeway_seconds = serializers.IntegerField()
    is_active = serializers.BooleanField()
    created_at = serializers.DateTimeField()


class BindingInputSerializer(serializers.Serializer):
    subject = serializers.CharField(max_length=255, help_text="The token's sub (or client_id).")
    service_account = serializers.CharField(max_length=150)


class BindingOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    issuer = serializers.CharField(source="issuer.name")
    subject = serializers.CharField()
    service_account = serializers.CharField(source="service_account.username")
    created_at = serializers.DateTimeField()


class TokenExchangeInputSerializer(serializers.Serializer):
    """Documentation only: the view reads the form itself to answer in RFC 6749 shape."""

    grant_type = serializers.CharField()
    subject_token = serializers.CharField()
    subject_token_type = serializers.CharField()
    actor_token = serializers.CharField(required=False)
    actor_token_type = serializers.CharField(required=False)
    requested_token_type = serializers.CharField(required=False)


class TokenExchangeOutputSerializer(serializers.Serializer):
    access_token = serializers.CharField()
    issued_token_type = serializers.CharField()
    token_type = serializers.CharField()
    expires_in = serializers.IntegerField()
