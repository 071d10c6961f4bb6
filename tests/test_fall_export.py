"""Outcomes teach the next model: falls replayed by the simulator through the real broker, ingest
and alerts, resolved by a person, exported as a dataset file and trained on beside a public one."""

from __future__ import annotations

import uuid
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from alerts.fall.cli import app
from alerts.fall.dataset import FallDataError, load_trials
from alerts.fall.export import FieldWindow, pick_model, pseudonym
from alerts.fall.model import FallModel
from alerts.lifecycle import resolve
from anxin.db import connect
from anxin.scenarios import run_one
from device_sim.falls import FallLibrary, fall_data_path
from device_sim.scenario import Scenario
from tests.fall_files import save, subset
from tests.helpers import running_platform

pytestmark = pytest.mark.scenario

# The replay's device noise is seeded by the event time: trial 1101 at 2 s is the doubtful impact
# of the shipped fall-ask-cancelled scenario.
THREE_IMPACTS = {
    "name": "three-impacts",
    "description": "one resident knocks her wrist, is asked 'are you OK?' and presses OK; two "
    "others in her room fall (clear falls, alarmed at once)",
    "fleet": {"care_homes": 1, "rooms_per_home": 1, "beds_per_room": 3},
    "events": [
        {"at": 2, "device": "ch1-brc-11", "action": "fall", "trial": 1101, "answer": "ok"},
        {"at": 2, "device": "ch1-brc-12", "action": "fall", "trial": 198},
        {"at": 2, "device": "ch1-brc-13", "action": "fall", "trial": 198},
    ],
    "expect": [{"alarm": "fall", "severity": "alarm", "within_s": 30, "site": "ch1"}],
    "prompts": [{"prompt": "cancelled", "within_s": 30}],
}


@pytest.fixture
def resolved_falls(db_url: str, mqtt_url: str) -> str:
    """A database holding the scenario's two fall alarms, resolved real and false alarm, and
    its possible fall cancelled by the wearer."""
    falls = FallLibrary()
    if not falls.real:
        pytest.skip(f"no fall recordings at {fall_data_path()}; set ANXIN_FALL_DATA to them")
    with running_platform(db_url, mqtt_url) as platform:
        scenario = Scenario.model_validate(THREE_IMPACTS)
        outcomes = run_one(platform.settings, scenario, falls, f"x{uuid.uuid4().hex[:6]}-")
    assert all(o.ok for o in outcomes), outcomes
    with connect(db_url) as conn:
        ids = [r[0] for r in conn.execute("SELECT id FROM alarms WHERE kind = 'fall' ORDER BY id")]
        assert len(ids) == 2, "each resident's fall raises its own alarm"
        for alarm_id, outcome in zip(ids, ("real", "false_alarm"), strict=True):
            assert resolve(conn=conn, alarm_id=alarm_id, by="nurse Li", outcome=outcome, note="")
        conn.commit()
    return db_url


def test_resolved_fall_alarms_are_exported_and_train_the_next_model(
    resolved_falls: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANXIN_DATABASE_URL", resolved_falls)
    monkeypatch.setenv("ANXIN_FALL_EXPORT_KEY", "a stable key for this deployment")
    field = tmp_path / "field.npz"
    result = CliRunner().invoke(app, ["export", "--out", str(field)])
    assert result.exit_code == 0, result.output
    assert "3 labelled windows (1 falls, 2 not falls)" in " ".join(result.output.split())

    trials = load_trials(field)
    assert sorted(trials.label.tolist()) == [0, 0, 1]
    assert sorted(trials.activity.tolist()) == [
        "FIELD-CANCELLED",
        "FIELD-FALL",
        "FIELD-FALSE-ALARM",
    ]
    assert all(s.startswith("FIELD-") and "r12" not in s for s in trials.subject.tolist())
    assert len(set(trials.subject.tolist())) == 3
    t, acc = trials.trial(0)
    assert t[0] == 0.0 and 10.0 < t[-1] < 20.0  # a whole impact window, as the bracelet sent it
    assert np.abs(acc).max() <= 8.0 + 1e-3 and np.linalg.norm(acc, axis=1).max() > 1.5
    with np.load(field) as raw:
        assert np.isfinite(raw["score"]).all()
        assert set(raw["model_version"].tolist()) == {FallModel.load().version}

    again = tmp_path / "again.npz"
    assert CliRunner().invoke(app, ["export", "--out", str(again)]).exit_code == 0
    assert load_trials(again).subject.tolist() == trials.subject.tolist()

    public = tmp_path / "public.npz"
    _few_public_trials(fall_data_path(), public)
    model, card = tmp_path / "model.json", tmp_path / "card.md"
    args = ["train", str(field), str(public), "--out", str(model), "--card", str(card)]
    result = CliRunner().invoke(app, [*args, "--folds", "2"])
    assert result.exit_code == 0, result.output
    trained = FallModel.load(model)
    assert any(name.startswith("Anxin field") for name in trained.info["devices"])
    assert "Anxin field" in card.read_text()


def test_export_says_what_to_do_when_nothing_is_labelled(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANXIN_DATABASE_URL", db_url)
    result = CliRunner().invoke(app, ["export", "--out", str(tmp_path / "none.npz")])
    assert result.exit_code == 1
    assert "resolve fall alarms as real or false alarm first" in " ".join(result.output.split())
    assert not (tmp_path / "none.npz").exists()


def _few_public_trials(path: Path, out: Path) -> None:
    """Two subjects' falls and daily activities: enough for training to run in seconds."""
    trials = load_trials(path)
    keep = np.flatnonzero(np.isin(trials.subject, np.unique(trials.subject)[:2]))[::8]
    save(out, subset(trials, keep.tolist()))


def _window(model: str, label: int = 1) -> FieldWindow:
    t = np.arange(0.0, 13.5, 0.02)
    acc = np.tile([0.0, 0.0, 1.0], (t.size, 1))
    return FieldWindow("FIELD-x", model, label, "FIELD-FALL", t, acc, 50.0, 8.0, 0.9, "v1")


def test_one_file_holds_one_bracelet_model() -> None:
    windows = [_window("B1"), _window("B1", 0), _window("W2")]
    with pytest.raises(FallDataError, match="several device models .*--device-model"):
        pick_model(windows, None)
    assert [w.device_model for w in pick_model(windows, "W2")] == ["W2"]
    with pytest.raises(FallDataError, match="labelled models: 'B1' \\(2\\), 'W2' \\(1\\)"):
        pick_model(windows, "X9")


def test_pseudonyms_are_stable_under_a_key_and_differ_across_keys() -> None:
    assert pseudonym("ch1-r11", b"k1") == pseudonym("ch1-r11", b"k1")
    assert pseudonym("ch1-r11", b"k1") != pseudonym("ch1-r11", b"k2")
    assert pseudonym("ch1-r11", b"k1") != pseudonym("ch1-r12", b"k1")
    assert "r11" not in pseudonym("ch1-r11", b"k1")
