"""Request and response shapes for the resources API. The upstream password is
write-only: no response ever carries it."""

from rest_framework import serializers

from controlplane.agents.selectors import agents_list
from controlplane.resources.models import Resource
from controlplane.resources.protocols import protocol_choices


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
    agent = serializers.SlugRelatedField(slug_field="name", queryset=agents_list())
    created_at = serializers.DateTimeField(read_only=True)
