# Existing events (written before the log was tamper-evident) get seq and leaf in id order,
# and the Merkle nodes over them, exactly as the sequencer would have written them.

from django.db import migrations

from controlplane.audit.sequencer import Entry, Person, leaf_text
from ledger.merkle import Frontier, leaf_hash

BATCH = 1000


def number_existing_events(apps, schema_editor):
    AuditEvent = apps.get_model("audit", "AuditEvent")
    MerkleNode = apps.get_model("audit", "MerkleNode")
    frontier = Frontier()
    events, nodes = [], []
    for event in AuditEvent.objects.select_related("agent").order_by("id").iterator(BATCH):
        event.seq, event.leaf = frontier.size, leaf_text(_entry(event), seq=frontier.size)
        completed = frontier.append(leaf_hash(event.leaf.encode("utf-8")))
        nodes += [
            MerkleNode(level=level, index=index, hash=value) for level, index, value in completed
        ]
        events.append(event)
        if len(events) == BATCH:
            _save(AuditEvent, MerkleNode, events, nodes)
            events, nodes = [], []
    _save(AuditEvent, MerkleNode, events, nodes)


def _save(AuditEvent, MerkleNode, events, nodes):
    AuditEvent.objects.bulk_update(events, ["seq", "leaf"])
    MerkleNode.objects.bulk_create(nodes)


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
