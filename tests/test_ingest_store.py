"""The writer: a batch that meets already-stored readings stores the new ones and counts the rest
as duplicates, whichever write path stored a reading first."""

from __future__ import annotations

import psycopg

from ingest.models import Row
from ingest.store import prepare_session, store
from tests.helpers import count, register_bracelet

T0 = 1_763_900_000_123  # a device time with milliseconds: both paths must agree on the instant


def _vitals(device_id: int, seqs: range) -> list[Row]:
    return [(device_id, T0 + seq * 1001, seq, 70, 97, None, None, None, 80, True) for seq in seqs]


def test_redelivered_readings_are_absorbed_and_new_ones_kept(db_url: str) -> None:
    _, uid = register_bracelet(db_url)
    with psycopg.connect(db_url) as conn:
        row = conn.execute("SELECT id FROM devices WHERE uid = %s", (uid,)).fetchone()
        assert row is not None
        device_id = int(row[0])
        prepare_session(conn=conn)

        first = store(conn=conn, rows={"reading_vitals": _vitals(device_id, range(0, 50))}, dead=[])
        conn.commit()
        again = store(
            conn=conn, rows={"reading_vitals": _vitals(device_id, range(40, 60))}, dead=[]
        )
        conn.commit()
        repeat = store(
            conn=conn, rows={"reading_vitals": _vitals(device_id, range(0, 60))}, dead=[]
        )
        conn.commit()

    assert (first.stored, first.duplicates) == (50, 0)
    assert (again.stored, again.duplicates) == (10, 10)
    assert (repeat.stored, repeat.duplicates) == (0, 60)
    assert count(db_url, "SELECT count(*) FROM reading_vitals") == 60


def test_a_batch_repeating_a_reading_within_itself_stores_it_once(db_url: str) -> None:
    _, uid = register_bracelet(db_url)
    with psycopg.connect(db_url) as conn:
        row = conn.execute("SELECT id FROM devices WHERE uid = %s", (uid,)).fetchone()
        assert row is not None
        rows = _vitals(int(row[0]), range(0, 5))
        prepare_session(conn=conn)
        result = store(conn=conn, rows={"reading_vitals": rows + rows[:2]}, dead=[])
        conn.commit()

    assert (result.stored, result.duplicates) == (5, 2)
    assert count(db_url, "SELECT count(*) FROM reading_vitals") == 5
