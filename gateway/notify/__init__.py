"""Change notifications to partners: FHIR R4 Subscriptions (rest-hook) fed by the ingest outbox.

    outbox (one `passport.changed` row per youth per batch, written with the data)
      --fan_out--> notification_delivery (one row per matching subscription; idempotency key
                   "<outbox key>:<subscription id>")
      --deliver--> POST to the subscriber's endpoint; categories decided per youth with the
                   enforcement layer for the subscriber's Requester at the moment of sending;
                   categories it may not see are never mentioned; none left: nothing is sent.

At-least-once: a delivery is marked delivered only after a 2xx, so a crash between the POST and
the commit sends it again with the same `Idempotency-Key`. Retries back off exponentially with
jitter; a delivery older than the configured maximum age is dead-lettered (`status = dead`).
See docs/notifications.md.

Modules: config (NotifyConfig), subscriptions (criteria, channel, CRUD, FHIR rendering),
payload (notification bodies and signatures), dispatcher (fan-out, delivery, the run loop).
"""
from .config import NotifyConfig  # noqa: F401
from .dispatcher import deliver_due, fan_out, run_forever, run_once  # noqa: F401
