"""Background jobs: housekeeping (expiring stale access requests, recording grant ends)
and webhook delivery.

Production runs Celery with a real broker (``GATEHOUSE_CELERY_BROKER_URL``), a worker and
beat: ``celery -A controlplane.jobs.app worker --beat``. Beat runs ``housekeeping`` every
30 s (``GATEHOUSE_HOUSEKEEPING_INTERVAL_SECONDS``). ``make run`` does the same on a broker
that needs no server, ``filesystem:///<folder>`` (kombu's filesystem transport: messages are
files in that folder). With the default broker ``memory://`` tasks run eagerly inside the web
process (webhooks on a short-lived thread, so a slow receiver never holds up a request) and
nothing runs beat: ``manage.py run_housekeeping`` is the loop to run beside the server. Agents
do not depend on either: they enforce grant expiry themselves; housekeeping keeps the control
plane's own records true.

The audit log's checkpoints: beat runs ``log_checkpoint`` every second (and ingestion queues
it each 1,000 entries); witnesses get each checkpoint through ``witnesses_submit``. Without a
worker, ``manage.py run_log_signer`` is that loop (the devstack control plane runs it).
"""
