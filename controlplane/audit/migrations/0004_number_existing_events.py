# Existing events (written before the log was tamper-evident) get seq and leaf in id order,
# and the Merkle nodes over them, exactly as the sequencer would have written them.

from django.db import migrations

from controlplane.audit.sequencer import Entry, Person, leaf_text
from ledger.merkle import Frontier, leaf_hash


def number_existing_events(apps, schema_editor):
    AuditEvent = apps.get_model("audit", "AuditEvent")
    MerkleNode = apps.get_model("audit", "MerkleNode")
    frontier = Frontier()
    for event in AuditEvent.objects.select_related("agent").order_by("id").iterator():
        leaf = leaf_text(_entry(event), seq=frontier.size)
        AuditEvent.objects.filter(pk=event.pk).update(seq=frontier.size, leaf=leaf)
        MerkleNode.objects.bulk_create(
            MerkleNode(level=level, index=index, hash=value)
            for level, index, value in frontier.append(leaf_hash(leaf.encode("utf-8")))
        )


def _entry(event):
    principal = None
    if event.on_behalf_of_sub or event.on_behalf_of_name:
        principal = Person(event.on_behalf_of_sub, event.on_behalf_of_kind, event.on_behalf_of_name)
    return Entry(
        source=event.source,
        occurred_at=event.occurred_at,
        received_at=event.received_at,
        action=event.action,
        actor=Person(event.actor_sub, event.actor_kind, event.actor_name),
        on_behalf_of=principal,
        resource=event.resource,
        protocol=event.protocol,
        session=event.session,
        payload=event.payload,
        agent_name=event.agent.name if event.agent else None,
        agent_seq=event.agent_seq,
    )


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0003_tamper_evident_log"),
        ("agents", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(number_existing_events, migrations.RunPython.noop),
    ]
