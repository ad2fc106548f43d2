"""Request and response shapes of the auditors' export API."""

from rest_framework import serializers


class ExportRequestSerializer(serializers.Serializer):
    since = serializers.CharField(
        required=False,
        help_text="Start (inclusive): ISO 8601 or relative (7d, 12h). Default: the beginning.",
    )
    until = serializers.CharField(
        required=False, help_text="End (exclusive): ISO 8601 or relative. Default: now."
    )
    consistency_from = serializers.ListField(
        child=serializers.IntegerField(min_value=1),
        required=False,
        max_length=100,
        help_text="Tree sizes of checkpoints the auditor kept: the bundle proves the final "
        "checkpoint consistent with each (earlier exports' final checkpoints always are).",
    )


class ExportRecordSerializer(serializers.Serializer):
    seq = serializers.IntegerField(help_text="Where the export is recorded in the log.")
    exported_at = serializers.DateTimeField(source="occurred_at")
    exported_by = serializers.CharField(source="actor_name")
    since = serializers.CharField(source="payload.since")
    until = serializers.CharField(source="payload.until")
    first_seq = serializers.IntegerField(source="payload.first_seq")
    last_seq = serializers.IntegerField(source="payload.last_seq")
    count = serializers.IntegerField(source="payload.count")
    tree_size = serializers.IntegerField(source="payload.tree_size")
    manifest_sha256 = serializers.CharField(source="payload.manifest_sha256")
