"""The durable local audit spool: every audit event is on disk before it leaves the agent.

Layout of the spool directory::

    00000000000000000001.jsonl   segment files, JSON Lines, named by their first ``seq``
    00000000000000052113.jsonl   (one ``AuditEvent.to_dict()`` per line; rotated by size)
    acked.json                   {"format": 1, "acked_seq": N}: the control plane has <= N
    lock                         flock'd while a process has the spool open

Life of an event:

1. ``append`` (on the proxy hot path, synchronous) gives it the next ``seq``, encodes it as
   its JSON line (the only time the event is ever encoded) and puts the line in an
   in-memory write buffer. Nothing touches the disk here.
2. A background writer (group commit) writes the buffer to the current segment and fsyncs,
   at most ``flush_interval_s`` after the first buffered event, or at once when
   ``flush_max_events`` are buffered. Only then is the event *durable*, and only durable
   events are handed to the link (``durable_pending_lines``), which sends those same bytes.
3. ``acknowledge(seq)`` records that the control plane stored everything <= seq. The
   watermark is persisted (temp file, fsync, rename, fsync directory) *before* any segment
   is deleted, so a seq is never reused for a different event.

Durability window: if the agent process dies, events appended in the last ~flush_interval_s
that were not fsync'd yet may be lost. Their seqs were never sent (only durable events are),
so after the restart the control plane sees neither a gap nor a duplicate: the numbering
simply continues from the last event on disk. A torn last line (a crash mid-write) is
dropped when the spool is reopened.

Memory: the lines of durable unacknowledged events are kept in memory up to
``memory_max_events``; beyond that (a long control-plane outage) they are read back from the
segment files on demand.

Modules: ``spool`` (the ``Spool`` itself: seqs, group commit, acks), ``lines`` (one event as
one line), ``segments`` (the files: segment log, watermark, lock, recovery) and ``reader``
(reading durable lines back from the segments).
"""

from dataplane.link.spool.lines import Line
from dataplane.link.spool.segments import LOCK_FILENAME, STATE_FILENAME, SpoolError
from dataplane.link.spool.spool import Spool, SpoolState

__all__ = [
    "LOCK_FILENAME",
    "STATE_FILENAME",
    "Line",
    "Spool",
    "SpoolError",
    "SpoolState",
]
