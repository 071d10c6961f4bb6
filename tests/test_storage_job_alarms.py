"""A TimescaleDB job that keeps failing raises an operator alarm, cleared when it succeeds again.

Against the stand-in job views of ``tests/fix_storage_jobs.py``: compression job 1000 has
failed twice since its last success, retention job 1001 succeeds. The alarm threshold here is 3
failed runs, so job 1000 needs one more failure (``fail_again``) to raise it.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC

from prometheus_client import REGISTRY

from alerts import escalation
from alerts.models import Severity
from alerts.storage_health import JobAlarms, check_storage_jobs, operator_site
from anxin import registry
from tests.alarm_setup import contact, rows, running, site, staff, webhook
from tests.fix_storage_jobs import PORTAL_ERROR, fail_again, succeed
from tests.helpers import wait_until
from tests.receivers import http_receiver

ALARMS = "SELECT id, state::text, occurrences FROM alarms WHERE kind = 'storage_job_failing'"


def alarms(routing: escalation.Routing | None = None, operator: str = "") -> JobAlarms:
    return JobAlarms(
        failures_to_alarm=3, operator_site=operator, routing=routing or escalation.Routing()
    )


def test_a_job_that_keeps_failing_raises_one_alarm_repeated_per_failed_run(
    db_url, conn, standin_jobs
):
    site(conn)
    check_storage_jobs(conn=conn, alarms=alarms())
    assert rows(db_url, ALARMS) == []  # 2 failed runs: not yet "keeps failing"

    fail_again(conn, 1000)
    check_storage_jobs(conn=conn, alarms=alarms())
    check_storage_jobs(conn=conn, alarms=alarms())  # the same failed run, seen again
    [(alarm_id, state, occurrences)] = rows(db_url, ALARMS)
    assert (state, occurrences) == ("open", 1)
    fail_again(conn, 1000)
    check_storage_jobs(conn=conn, alarms=alarms())
    assert rows(db_url, ALARMS) == [(alarm_id, "open", 2)]

    [(severity, subject, site_uid, title, evidence)] = rows(
        db_url,
        """SELECT a.severity, ARRAY[a.subject_kind, a.subject_id::text], s.uid, a.title,
                  a.evidence
           FROM alarms a JOIN sites s ON s.id = a.site_id""",
    )
    assert (severity, subject, site_uid) == (int(Severity.ALARM), ["storage_job", "1000"], "s1")
    [(since,)] = rows(
        db_url,
        "SELECT last_successful_finish FROM timescaledb_information.job_stats WHERE job_id = 1000",
    )
    assert title == (
        "Storage job 1000 (compression on reading_vitals) failing since "
        f"{since.astimezone(UTC):%Y-%m-%d %H:%M} UTC: 3 failed runs"
    )
    assert evidence["job_id"] == 1000 and evidence["proc_name"] == "policy_compression"
    assert evidence["hypertable"] == "reading_vitals" and evidence["failures"] == 3
    assert evidence["last_error"] == PORTAL_ERROR
    assert evidence["last_run"] and evidence["last_success"]


def test_a_successful_run_clears_the_alarm_and_keeps_it_on_record(db_url, conn, standin_jobs):
    site(conn)
    fail_again(conn, 1000)
    check_storage_jobs(conn=conn, alarms=alarms())
    succeed(conn, 1000)
    assert check_storage_jobs(conn=conn, alarms=alarms()) == []

    [(alarm_id, state, _)] = rows(db_url, ALARMS)
    assert state == "cleared"
    assert rows(db_url, "SELECT actor, action FROM alarm_events WHERE alarm_id = %s", alarm_id)[
        -1
    ] == ("storage_watch", "cleared")
    fail_again(conn, 1000)  # failing again: a new alarm only once it keeps failing
    check_storage_jobs(conn=conn, alarms=alarms())
    assert [state for _, state, _ in rows(db_url, ALARMS)] == ["cleared"]


def test_without_a_site_nothing_is_raised_but_the_gauge_counts(db_url, conn, standin_jobs, caplog):
    fail_again(conn, 1000)
    with caplog.at_level(logging.WARNING, logger="alerts.storage_health"):
        failing = check_storage_jobs(conn=conn, alarms=alarms())
    assert [job.job_id for job in failing] == [1000]
    assert REGISTRY.get_sample_value("anxin_storage_jobs_failing") == 1
    assert rows(db_url, ALARMS) == []
    assert "no site is registered" in caplog.text


def test_the_operator_site_is_the_named_one_else_the_oldest(conn, caplog):
    assert operator_site(conn=conn, uid="") is None
    site(conn, "centre")
    site(conn, "s2")
    assert operator_site(conn=conn, uid="s2") == "s2"
    assert operator_site(conn=conn, uid="") == "centre"
    with caplog.at_level(logging.WARNING, logger="alerts.storage_health"):
        assert operator_site(conn=conn, uid="gone") == "centre"
    assert "ANXIN_OPERATOR_SITE=gone is not a registered site" in caplog.text


def test_the_operator_and_managers_are_told_not_duty_staff_or_family(db_url, conn, standin_jobs):
    with http_receiver() as rx:
        sid = site(conn)
        resident = registry.create_resident(conn=conn, uid="r1", site_uid="s1", name="Wang")
        staff(conn, sid, "Duty", "duty", webhook(rx.url("duty")))
        contact(conn, sid, "Boss", "manager", webhook(rx.url("manager")))
        contact(conn, sid, "Daughter", "family", webhook(rx.url("family")), resident_id=resident)
        routing = escalation.Routing(operator_channels=webhook(rx.url("operator")))
        fail_again(conn, 1000)
        with running(db_url, routing):
            check_storage_jobs(conn=conn, alarms=alarms(routing))
            wait_until(
                lambda: len(rx.to("operator")) == 1 and len(rx.to("manager")) == 1,
                timeout_s=15,
                what="operator and manager told",
            )
    [(alarm_id, _, _)] = rows(db_url, ALARMS)
    payload = json.loads(rx.to("operator")[0].body)
    assert payload["alarm"]["kind"] == "storage_job_failing"
    assert payload["alarm"]["id"] == alarm_id
    assert rx.to("duty") == [] and rx.to("family") == []
