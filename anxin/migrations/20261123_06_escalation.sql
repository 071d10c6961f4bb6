-- Who is told, when, and what stops it: the duty roster, escalation policies and their timers,
-- silences (maintenance windows), single-use acknowledgement links, and operator alarms about a
-- delivery channel that failed (subject 'channel'). Defaults and their reasons: docs/alarms.md.
-- depends: 20261123_05_outbox

-- The duty roster: a shift gives a staff member a role at their site for a time span. Without a
-- shift covering "now", staff.role is the standing role (a site without a roster still works).
CREATE TABLE shifts (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    staff_id    bigint NOT NULL REFERENCES staff(id) ON DELETE CASCADE,
    role        text NOT NULL CHECK (role IN ('duty', 'supervisor', 'manager')),
    starts_at   timestamptz NOT NULL,
    ends_at     timestamptz NOT NULL,
    CHECK (ends_at > starts_at)
);
CREATE INDEX shifts_staff_time ON shifts (staff_id, ends_at);
CREATE INDEX staff_site_role ON staff (site_id, role);
CREATE INDEX contacts_site_kind ON contacts (site_id, kind);
CREATE INDEX contacts_resident ON contacts (resident_id, priority);

-- Escalation policies: the most specific policy wins (a site's own over the default, a kind's
-- own over any kind, the highest min_severity not above the alarm's severity).
CREATE TABLE escalation_policies (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    site_id      bigint REFERENCES sites(id) ON DELETE CASCADE,
    alarm_kind   text,
    min_severity smallint NOT NULL DEFAULT 1 CHECK (min_severity BETWEEN 1 AND 4),
    reminder_s   real CHECK (reminder_s > 0),
    note         text NOT NULL DEFAULT '',
    UNIQUE NULLS NOT DISTINCT (site_id, alarm_kind, min_severity)
);
COMMENT ON COLUMN escalation_policies.reminder_s IS
    'every reminder_s after the alarm was raised, everyone reached by then is reminded, until '
    'it is acknowledged; NULL: no reminders';

CREATE TABLE escalation_steps (
    policy_id   bigint NOT NULL REFERENCES escalation_policies(id) ON DELETE CASCADE,
    tier        smallint NOT NULL CHECK (tier >= 1),
    delay_s     real NOT NULL CHECK (delay_s >= 0),
    audiences   text[] NOT NULL CHECK (
        cardinality(audiences) > 0
        AND audiences <@ ARRAY['duty', 'supervisor', 'manager', 'family', 'community', 'town',
                               'district', 'operator']),
    PRIMARY KEY (policy_id, tier)
);
COMMENT ON COLUMN escalation_steps.delay_s IS 'seconds after the alarm was raised';

WITH p AS (
    INSERT INTO escalation_policies (site_id, alarm_kind, min_severity, reminder_s, note)
    VALUES (NULL, NULL, 1, NULL, 'device health and information: staff only'),
           (NULL, NULL, 3, 60, 'alarms: duty, supervisor, family and community, reminders'),
           (NULL, 'fire', 1, 30, 'fire: the monitoring centre at once (GB 26875)'),
           (NULL, 'delivery_failed', 1, NULL, 'a channel failed: the operator and managers')
    RETURNING id, alarm_kind, min_severity
)
INSERT INTO escalation_steps (policy_id, tier, delay_s, audiences)
SELECT p.id, s.tier, s.delay_s, s.audiences
FROM p JOIN (VALUES
    (NULL, 1, 1, 0, ARRAY['duty']),
    (NULL, 1, 2, 1800, ARRAY['supervisor']),
    (NULL, 3, 1, 0, ARRAY['duty']),
    (NULL, 3, 2, 60, ARRAY['supervisor']),
    (NULL, 3, 3, 120, ARRAY['family', 'community']),
    (NULL, 3, 4, 600, ARRAY['manager', 'town']),
    (NULL, 3, 5, 1800, ARRAY['district']),
    ('fire', 1, 1, 0, ARRAY['duty', 'operator']),
    ('fire', 1, 2, 60, ARRAY['supervisor', 'manager']),
    ('fire', 1, 3, 120, ARRAY['family', 'community']),
    ('delivery_failed', 1, 1, 0, ARRAY['operator', 'manager'])
) AS s (alarm_kind, min_severity, tier, delay_s, audiences)
    ON p.alarm_kind IS NOT DISTINCT FROM s.alarm_kind AND p.min_severity = s.min_severity;

-- Silences: alarms of a device or location are recorded but nobody is notified, e.g. during a
-- sensor test or a repair. Ending early keeps the row (ended_at, ended_by) for the audit.
CREATE TABLE silences (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    site_id     bigint NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
    device_id   bigint REFERENCES devices(id) ON DELETE CASCADE,
    location_id bigint REFERENCES locations(id) ON DELETE CASCADE,
    reason      text NOT NULL CHECK (reason <> ''),
    owner       text NOT NULL CHECK (owner <> ''),
    starts_at   timestamptz NOT NULL DEFAULT now(),
    ends_at     timestamptz NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    ended_at    timestamptz,
    ended_by    text,
    CHECK (ends_at > starts_at),
    CHECK (device_id IS NOT NULL OR location_id IS NOT NULL)
);
CREATE INDEX silences_site_ends ON silences (site_id, ends_at);

ALTER TABLE alarms ADD COLUMN silence_id bigint REFERENCES silences(id) ON DELETE SET NULL;
-- The scheduler looks for open alarms whose silence is over, several times a second.
CREATE INDEX alarms_silenced_open ON alarms (silence_id) WHERE silenced AND state = 'open';
ALTER TABLE alarms DROP CONSTRAINT alarms_subject_kind_check,
    ADD CONSTRAINT alarms_subject_kind_check
        CHECK (subject_kind IN ('resident', 'location', 'device', 'channel'));
COMMENT ON COLUMN alarms.subject_kind IS
    'channel: an operator alarm about a delivery target; subject_id is a hash of the target';

ALTER TABLE alarm_events DROP CONSTRAINT alarm_events_action_check,
    ADD CONSTRAINT alarm_events_action_check
        CHECK (action IN ('raised', 'repeated', 'severity_raised', 'acknowledged', 'resolved',
                          'cleared', 'notified', 'escalated', 'reminded', 'silenced',
                          'unsilenced'));

-- Escalation timers: one row per planned step of an alarm; the scheduler claims due rows with
-- FOR UPDATE SKIP LOCKED, so any number of schedulers may run. due_at and fired_at stay on
-- record: the lag of every timer is measurable.
CREATE TABLE escalation_timers (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    alarm_id    bigint NOT NULL REFERENCES alarms(id) ON DELETE CASCADE,
    policy_id   bigint REFERENCES escalation_policies(id) ON DELETE SET NULL,
    tier        smallint NOT NULL CHECK (tier >= 1),
    reminder    int NOT NULL DEFAULT 0 CHECK (reminder >= 0),
    audiences   text[] NOT NULL,  -- a reminder's (tier 1, reminder n): filled in when it fires
    repeat_s    real CHECK (repeat_s > 0),
    due_at      timestamptz NOT NULL,
    state       text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'fired', 'cancelled')),
    fired_at    timestamptz
);
CREATE INDEX escalation_timers_due ON escalation_timers (due_at) WHERE state = 'pending';
-- A step is planned once; a cancelled one may be planned again (a re-plan after severity rose).
CREATE UNIQUE INDEX escalation_timers_step ON escalation_timers (alarm_id, tier, reminder)
    WHERE state <> 'cancelled';

ALTER TABLE notifications ADD COLUMN reminder int NOT NULL DEFAULT 0 CHECK (reminder >= 0);
ALTER TABLE notifications DROP CONSTRAINT notifications_state_check,
    ADD CONSTRAINT notifications_state_check
        CHECK (state IN ('pending', 'sending', 'delivered', 'failed', 'gave_up', 'silenced'));
COMMENT ON COLUMN notifications.reminder IS '0: the tier''s first message; n: its n-th reminder';

-- Idle delivery workers LISTEN on anxin_outbox: a new message leaves at once, not at the next
-- poll. Once per statement; PostgreSQL folds repeats within a transaction into one.
CREATE FUNCTION notify_outbox() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('anxin_outbox', '');
    RETURN NULL;
END
$$;
CREATE TRIGGER notifications_wake AFTER INSERT ON notifications
    FOR EACH STATEMENT EXECUTE FUNCTION notify_outbox();

-- A signed acknowledgement link works once: its id is inserted here when it is used.
CREATE TABLE ack_links_used (
    jti         text PRIMARY KEY,
    alarm_id    bigint NOT NULL REFERENCES alarms(id) ON DELETE CASCADE,
    used_at     timestamptz NOT NULL DEFAULT now(),
    used_by     text NOT NULL
);
