-- The delivery outbox: one row per (alarm, recipient, channel), written in the same transaction
-- as the alarm, so that no alarm is ever without a delivery record; workers drain it with
-- FOR UPDATE SKIP LOCKED. Every delivery attempt is kept in delivery_attempts for the audit.
-- depends: 20261123_04_alarms

CREATE TABLE notifications (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    alarm_id        bigint NOT NULL REFERENCES alarms(id) ON DELETE CASCADE,
    channel         text NOT NULL CHECK (channel IN ('webhook', 'email', 'apprise', 'none')),
    target          text NOT NULL,
    recipient       jsonb NOT NULL,
    tier            smallint NOT NULL CHECK (tier >= 1),
    payload         jsonb NOT NULL,
    idempotency_key text NOT NULL UNIQUE,
    state           text NOT NULL DEFAULT 'pending'
        CHECK (state IN ('pending', 'sending', 'delivered', 'failed', 'gave_up')),
    attempts        int NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    last_error      text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    delivered_at    timestamptz
);
COMMENT ON COLUMN notifications.target IS
    'webhook: URL; email: address (the SMTP server is a setting); apprise: the Apprise URL';
COMMENT ON COLUMN notifications.recipient IS
    'who: {"kind": "staff"|"operator", "id": ..., "name": ..., "role": ...}';
COMMENT ON COLUMN notifications.next_attempt_at IS
    'pending/failed: when the next attempt is due; sending: when the claim lease expires';

-- The worker query: due rows of the states still to deliver, oldest due first.
CREATE INDEX notifications_due ON notifications (next_attempt_at)
    WHERE state IN ('pending', 'sending', 'failed');
CREATE INDEX notifications_alarm ON notifications (alarm_id);

CREATE TABLE delivery_attempts (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    notification_id bigint NOT NULL REFERENCES notifications(id) ON DELETE CASCADE,
    at              timestamptz NOT NULL DEFAULT now(),
    attempt         int NOT NULL,
    ok              boolean NOT NULL,
    error           text,
    duration_ms     int NOT NULL
);
CREATE INDEX delivery_attempts_notification ON delivery_attempts (notification_id, at);
