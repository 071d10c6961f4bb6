-- Possible falls: an impact whose score is doubtful asks the wearer ("are you OK?") before it
-- becomes a fall alarm. Every doubtful decision is kept, also the ones cancelled by the wearer,
-- so an inspector can see how often a bracelet asked and what came of it.
-- outcome is NULL while the bracelet waits for the answer; 'cancelled' when the wearer said OK;
-- any other outcome raised the fall alarm named by alarm_id.
-- depends: 20261123_04_alarms

CREATE TABLE fall_prompts (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    uid         text NOT NULL UNIQUE,
    device_id   bigint NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
    site_id     bigint NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
    resident_id bigint REFERENCES residents(id) ON DELETE SET NULL,
    impact_at   timestamptz NOT NULL,
    score       double precision NOT NULL,
    threshold   double precision NOT NULL,
    evidence    jsonb NOT NULL DEFAULT '{}'::jsonb,
    asked_at    timestamptz,
    deadline_at timestamptz,
    outcome     text CHECK (outcome IN ('cancelled', 'help', 'no_answer', 'device_offline',
                                        'downlink_failed', 'lying_still', 'clear_fall')),
    closed_at   timestamptz,
    alarm_id    bigint REFERENCES alarms(id) ON DELETE SET NULL,
    UNIQUE (device_id, impact_at)
);
CREATE INDEX fall_prompts_site_impact ON fall_prompts (site_id, impact_at DESC);
CREATE INDEX fall_prompts_open ON fall_prompts (device_id) WHERE outcome IS NULL;
