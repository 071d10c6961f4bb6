-- Alarms and their audit trail. One open (or acknowledged) alarm per subject and kind: the
-- partial unique index makes creation transactional, so concurrent triggers cannot duplicate it.
-- depends: 20261123_03_hourly

CREATE TYPE alarm_state AS ENUM ('open', 'acknowledged', 'resolved', 'cleared');

CREATE TABLE alarms (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind            text NOT NULL,
    severity        smallint NOT NULL CHECK (severity BETWEEN 1 AND 4),
    state           alarm_state NOT NULL DEFAULT 'open',
    site_id         bigint NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
    subject_kind    text NOT NULL CHECK (subject_kind IN ('resident', 'location', 'device')),
    subject_id      bigint NOT NULL,
    device_id       bigint REFERENCES devices(id) ON DELETE SET NULL,
    title           text NOT NULL,
    evidence        jsonb NOT NULL DEFAULT '{}'::jsonb,
    occurrences     int NOT NULL DEFAULT 1,
    first_seen_at   timestamptz NOT NULL,
    last_seen_at    timestamptz NOT NULL,
    raised_at       timestamptz NOT NULL DEFAULT now(),
    acknowledged_at timestamptz,
    acknowledged_by text,
    resolved_at     timestamptz,
    resolved_by     text,
    outcome         text CHECK (outcome IN ('real', 'false_alarm', 'test')),
    note            text,
    cleared_at      timestamptz,
    silenced        boolean NOT NULL DEFAULT false
);
CREATE UNIQUE INDEX alarms_one_active ON alarms (subject_kind, subject_id, kind)
    WHERE state IN ('open', 'acknowledged');
CREATE INDEX alarms_site_raised ON alarms (site_id, raised_at DESC);
CREATE INDEX alarms_state ON alarms (state) WHERE state IN ('open', 'acknowledged');

CREATE TABLE alarm_events (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    alarm_id    bigint NOT NULL REFERENCES alarms(id) ON DELETE CASCADE,
    at          timestamptz NOT NULL DEFAULT now(),
    actor       text NOT NULL,
    action      text NOT NULL CHECK (action IN ('raised', 'repeated', 'severity_raised',
                                               'acknowledged', 'resolved', 'cleared',
                                               'notified', 'escalated', 'silenced')),
    detail      jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX alarm_events_alarm ON alarm_events (alarm_id, at);
