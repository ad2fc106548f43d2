"""Request shapes of the exec API."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from rest_framework import serializers

from dataplane.contract.exec_call import (
    HTTP_METHODS,
    MAX_ROWS_CAP,
    MAX_ROWS_DEFAULT,
    TIMEOUT_CAP_S,
    TIMEOUT_DEFAULT_S,
)

MAX_SQL_CHARS = 1024 * 1024
MAX_BODY_CHARS = 8 * 1024 * 1024


class HttpCallSerializer(serializers.Serializer):
    method = serializers.ChoiceField(choices=sorted(HTTP_METHODS))
    path = serializers.CharField(max_length=8192, trim_whitespace=False)
    headers = serializers.DictField(
        child=serializers.CharField(allow_blank=True, trim_whitespace=False, max_length=8192),
        required=False,
        default=dict,
    )
    body = serializers.CharField(
        required=False, allow_blank=True, trim_whitespace=False, max_length=MAX_BODY_CHARS
    )
    body_b64 = serializers.CharField(required=False, allow_blank=True, max_length=MAX_BODY_CHARS)

    def validate_path(self, path: str) -> str:
        if not path.startswith("/"):
            raise serializers.ValidationError("must start with /")
        return path

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if "body" in attrs and "body_b64" in attrs:
            raise serializers.ValidationError("give body or body_b64, not both")
        if "body" in attrs:
            attrs["body_b64"] = base64.b64encode(attrs.pop("body").encode()).decode("ascii")
        try:
            base64.b64decode(attrs.get("body_b64", ""), validate=True)
        except (binascii.Error, ValueError):
            raise serializers.ValidationError({"body_b64": ["is not base64"]}) from None
        return attrs


class ExecInputSerializer(serializers.Serializer):
    sql = serializers.CharField(required=False, trim_whitespace=False, max_length=MAX_SQL_CHARS)
    http = HttpCallSerializer(required=False)
    reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)
    duration = serializers.IntegerField(
        required=False, min_value=1, help_text="Seconds of access to ask for, if asking is needed."
    )
    max_rows = serializers.IntegerField(
        required=False, min_value=1, max_value=MAX_ROWS_CAP, default=MAX_ROWS_DEFAULT
    )
    timeout_s = serializers.FloatField(
        required=False, min_value=0.1, max_value=TIMEOUT_CAP_S, default=TIMEOUT_DEFAULT_S
    )

    def validate_sql(self, sql: str) -> str:
        if "\x00" in sql:
            raise serializers.ValidationError("cannot contain a NUL character")
        if not sql.strip():
            raise serializers.ValidationError("is empty")
        return sql

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if ("sql" in attrs) == ("http" in attrs):
            raise serializers.ValidationError("give exactly one of sql and http")
        return attrs
