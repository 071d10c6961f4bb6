-- Hazard rectification (闭环整改): a hazard found at a site is assigned to a responsible person
-- with a deadline, rectified, and verified by someone else; a failed verification sends it back
-- to 'assigned'. Overdue is not stored: it depends on the clock, so queries compute it
-- (not rectified by the deadline). Every step is kept in rectification_events.
-- Also the indexes behind the inspectors' history and statistics queries on alarms.
-- depends: 20261123_05_outbox

CREATE TYPE rectification_state AS ENUM ('found', 'assigned', 'rectified', 'verified');

CREATE TABLE rectifications (
    id                 bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    site_id            bigint NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
    location_id        bigint REFERENCES locations(id) ON DELETE SET NULL,
    alarm_id           bigint REFERENCES alarms(id) ON DELETE SET NULL,
    title              text NOT NULL CHECK (title <> ''),
    description        text NOT NULL DEFAULT '',
    level              text NOT NULL DEFAULT 'general' CHECK (level IN ('general', 'major')),
    state              rectification_state NOT NULL DEFAULT 'found',
    found_at           timestamptz NOT NULL DEFAULT now(),
    found_by           text NOT NULL,
    responsible        text,
    deadline           timestamptz,
    assigned_at        timestamptz,
    assigned_by        text,
    rectified_at       timestamptz,
    rectified_by       text,
    rectification_note text,
    verified_at        timestamptz,
    verified_by        text,
    verification_note  text,
    CHECK (state = 'found' OR (responsible IS NOT NULL AND deadline IS NOT NULL
                               AND assigned_at IS NOT NULL)),
    CHECK (state IN ('found', 'assigned') OR rectified_at IS NOT NULL),
    CHECK (state <> 'verified' OR verified_at IS NOT NULL)
);
COMMENT ON COLUMN rectifications.level IS 'general (一般隐患) or major (重大隐患) hazard';
CREATE INDEX rectifications_site_found ON rectifications (site_id, found_at DESC);
CREATE INDEX rectifications_open_deadline ON rectifications (deadline)
    WHERE state IN ('found', 'assigned');
CREATE INDEX rectifications_alarm ON rectifications (alarm_id) WHERE alarm_id IS NOT NULL;

CREATE TABLE rectification_events (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    rectification_id bigint NOT NULL REFERENCES rectifications(id) ON DELETE CASCADE,
    at               timestamptz NOT NULL DEFAULT now(),
    actor            text NOT NULL,
    action           text NOT NULL
        CHECK (action IN ('found', 'assigned', 'rectified', 'verified', 'rejected')),
    note             text NOT NULL DEFAULT ''
);
CREATE INDEX rectification_events_item ON rectification_events (rectification_id, at);

-- History pages walk one site at a time newest first, resuming after (raised_at, id), and
-- statistics read a site's period: the included columns let filters and response times come
-- from the index alone (an index-only scan), before any table row is read.
CREATE INDEX alarms_history ON alarms (site_id, raised_at DESC, id DESC)
    INCLUDE (kind, severity, state, outcome, silenced, acknowledged_at, resolved_at, cleared_at);

-- Statistics rollup: per site, local month and shift (the default 08-16, 16-24, 00-08), the
-- counts and the response times themselves (big-endian float4 arrays), so percentiles over any
-- set of cells stay exact. A month's cells cover [month start, through): ``through`` is the
-- end of the last whole local day before which every alarm of the month is resolved or
-- cleared, states that never change again (and raised_at is the insert time, so no alarm joins
-- a past day later): the cells are final up to ``through``, and refreshing moves it forward.
-- Everything after it is read live from alarms. Plain tables on both storage paths: a
-- TimescaleDB continuous aggregate cannot hold exact percentiles, and alarms is no hypertable.
CREATE TABLE alarm_response_months (
    site_id    bigint NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
    month      date NOT NULL,
    through    timestamptz NOT NULL,
    rolled_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (site_id, month)
);
CREATE TABLE alarm_response_rollup (
    site_id            bigint NOT NULL,
    month              date NOT NULL,
    shift              text NOT NULL,
    alarms             int NOT NULL,
    acknowledged       int NOT NULL,
    resolved           int NOT NULL,
    false_alarms       int NOT NULL,
    unacknowledged_60s int NOT NULL,
    ack_s              bytea NOT NULL,
    resolve_s          bytea NOT NULL,
    PRIMARY KEY (site_id, month, shift),
    FOREIGN KEY (site_id, month) REFERENCES alarm_response_months ON DELETE CASCADE
);
