-- Operator alarms about a failing TimescaleDB policy job (alerts/storage_health.py): the subject
-- is the job, and by default the operator and the site's managers are told, without reminders,
-- as for a failing delivery channel: it is about the platform, not about a resident.
-- depends: 20261123_06_escalation

ALTER TABLE alarms DROP CONSTRAINT alarms_subject_kind_check,
    ADD CONSTRAINT alarms_subject_kind_check
        CHECK (subject_kind IN ('resident', 'location', 'device', 'channel', 'storage_job'));
COMMENT ON COLUMN alarms.subject_kind IS
    'channel: an operator alarm about a delivery target; subject_id is a hash of the target. '
    'storage_job: an operator alarm about a TimescaleDB job; subject_id is its job_id';

WITH p AS (
    INSERT INTO escalation_policies (site_id, alarm_kind, min_severity, reminder_s, note)
    VALUES (NULL, 'storage_job_failing', 1, NULL,
            'a storage job keeps failing: the operator and managers')
    RETURNING id
)
INSERT INTO escalation_steps (policy_id, tier, delay_s, audiences)
SELECT p.id, 1, 0, ARRAY['operator', 'manager'] FROM p;
