"""Judging across bracelets: pooled files, rebuilt clocks, fair cuts, a device left out."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from alerts.fall.cli import app
from alerts.fall.clocks import durations, repair_clocks
from alerts.fall.dataset import FallDataError, TrialSet, load_trials
from alerts.fall.device_out import person_groups
from alerts.fall.features import GRID_S, to_grid
from alerts.fall.pool import combine, load_pool
from alerts.fall.preprocess import regularise_times
from alerts.fall.trigger import ImpactWindow
from alerts.fall.windows import training_table
from tests.fall_files import save, subset

REPO = Path(__file__).resolve().parents[1]
DATA_DIR = Path(
    os.environ.get("ANXIN_FALL_DATA", REPO.parent / "shared" / "datasets" / "fallalld_wrist.npz")
).parent
FILES = ("fallalld_wrist.npz", "smartfallmm_watch.npz", "smartfallmm_metawrist.npz")


def _set(
    name: str,
    trials: list[tuple[np.ndarray, str, str, int]],
    source: str = "lab",
    rate_hz: float = 50.0,
) -> TrialSet:
    """A trial set from (stamps, subject, activity, label); acceleration is gravity on z."""
    sizes = [t.size for t, *_ in trials]
    t = np.concatenate([t for t, *_ in trials]).astype(np.float32)
    acc = np.zeros((t.size, 3), dtype=np.int16)
    acc[:, 2] = 1000
    return TrialSet(
        offsets=np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64),
        t=t,
        acc=acc,
        acc_scale_g=0.001,
        label=np.array([label for *_, label in trials], dtype=np.int8),
        subject=np.array([s for _, s, _, _ in trials]),
        activity=np.array([a for _, _, a, _ in trials]),
        meta={"name": name, "source": source, "nominal_rate_hz": rate_hz},
        device=np.zeros(len(trials), dtype=np.int64),
        device_names=(name,),
    )


def _stamps(n: int, rate_hz: float) -> np.ndarray:
    return np.arange(n) / rate_hz


def test_stampless_trials_get_the_rate_of_the_best_evidence() -> None:
    flat = np.zeros(200)
    wrist = _set(
        "wrist",
        [
            (_stamps(200, 50.0), "A", "A01", 0),
            (flat, "A", "A02", 0),  # A's own session ran at 50 Hz
            (_stamps(200, 25.0), "C", "A01", 0),
            (flat, "B", "A01", 1),  # B wore a watch at the same time: 200 samples in 8 s
            (flat, "D", "A01", 0),  # no evidence: the file's nominal rate
        ],
        rate_hz=50.0,
    )
    watch = _set("watch", [(_stamps(257, 32.0), "B", "A01", 1)], rate_hz=32.0)
    repaired, same_watch = repair_clocks([wrist, watch])
    assert same_watch is watch
    spans = durations(repaired)
    assert spans[1] == pytest.approx(199 / 50.0)
    assert spans[3] == pytest.approx(199 / 25.0)  # 199 / 8 s = 24.9 Hz, snapped to a seen rate
    assert spans[4] == pytest.approx(199 / 50.0)
    assert repaired.meta["rebuilt_clocks"] == 3


def test_a_watch_from_another_study_never_sets_the_clock() -> None:
    wrist = _set("wrist", [(_stamps(100, 25.0), "A", "A01", 0), (np.zeros(100), "B", "A01", 1)])
    elsewhere = _set("watch", [(_stamps(100, 10.0), "B", "A01", 1)], source="other study")
    repaired, _ = repair_clocks([wrist, elsewhere])
    assert durations(repaired)[1] == pytest.approx(99 / 50.0)


def test_pooled_files_keep_each_trial_with_its_device() -> None:
    a = _set("one", [(_stamps(60, 50.0), "P1", "A01", 0), (_stamps(80, 50.0), "P2", "A10", 1)])
    b = _set("two", [(_stamps(40, 25.0), "P1", "A10", 1)])
    pool = combine([a, b])
    assert pool.device_names == ("one", "two")
    assert pool.device.tolist() == [0, 0, 1]
    assert pool.label.tolist() == [0, 1, 1]
    t, acc = pool.trial(2)
    assert t.size == 40 and acc[:, 2] == pytest.approx(1.0)


def test_the_same_device_twice_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "one.npz"
    one = _set("one", [(_stamps(60, 50.0), "P1", "A01", 0)])
    save(path, one, one.meta | {"acc_scale_g": 0.001})
    copy = tmp_path / "copy.npz"
    copy.write_bytes(path.read_bytes())
    assert load_trials(path).trial(0)[1][0, 2] == pytest.approx(1.0)
    with pytest.raises(FallDataError, match="same device appears twice"):
        load_pool([path, copy])


def test_people_who_wore_two_devices_are_kept_out_of_training_together() -> None:
    own = _set("own", [(_stamps(50, 50.0), s, "A01", 0) for s in ("X1", "X2")])
    watch = _set("watch", [(_stamps(50, 50.0), s, "A01", 0) for s in ("S1", "S2", "S3")])
    wrist = _set("wrist", [(_stamps(50, 50.0), s, "A01", 0) for s in ("S1", "S2", "S3")])
    pool = combine([own, watch, wrist])
    alone = person_groups(pool, pool.device == 0, folds=3)
    assert alone[:2].tolist() == [0, 0] and (alone[2:] == -1).all()
    shared = person_groups(pool, pool.device == 1, folds=3)
    assert sorted(shared[2:5].tolist()) == [0, 1, 2]
    assert (shared[:2] == -1).all() and (shared[5:] == -1).all()


def test_a_gap_in_the_stream_does_not_bend_the_clock_around_it() -> None:
    before = np.repeat(np.arange(0.0, 4.0, 0.2), 10)  # 50 Hz in packets of ten
    after = np.repeat(np.arange(10.0, 14.0, 0.2), 10)
    t = regularise_times(np.concatenate([before, after]))
    assert np.diff(t[:200]) == pytest.approx(0.02, rel=0.02)
    assert np.diff(t[200:]) == pytest.approx(0.02, rel=0.02)
    assert t[200] - t[199] > 5.0


def test_lost_packets_stay_empty_on_the_feature_grid() -> None:
    t = np.concatenate([np.arange(-4.0, 2.0, 0.02), np.arange(4.0, 9.5, 0.02)])
    acc = np.tile([0.0, 0.0, 1.0], (t.size, 1))
    impact = int(np.argmin(np.abs(t)))
    window = ImpactWindow(
        t_s=t, acc_g=acc, impact_index=impact, impact_time_s=0.0, peak_g=1.0, complete=True
    )
    grid = to_grid(window)
    assert np.isnan(grid[(GRID_S > 2.1) & (GRID_S < 3.9)]).all()
    assert grid[GRID_S < 1.9, 2] == pytest.approx(1.0)
    assert grid[(GRID_S > 4.1) & (GRID_S < 9.4), 2] == pytest.approx(1.0)


@pytest.fixture(scope="module")
def fallalld() -> TrialSet:
    path = DATA_DIR / "fallalld_wrist.npz"
    if not path.is_file():
        pytest.skip(f"fall dataset not found at {path}; set ANXIN_FALL_DATA to it")
    return load_trials(path)


def test_training_cuts_falls_and_daily_activities_alike(fallalld: TrialSet) -> None:
    falls = np.flatnonzero(fallalld.label == 1)[:40]
    adls = np.flatnonzero(fallalld.label == 0)[:40]
    small = subset(fallalld, np.concatenate([falls, adls]).tolist())
    table = training_table(small, n_augment=0, seed=3)
    cut = {label: np.mean(~table.scored[table.target == label]) for label in (0, 1)}
    assert cut[0] > 0.2 and cut[1] > 0.2
    assert abs(cut[0] - cut[1]) < 0.15


def _small_file(path: Path, out: Path, falls: int, adls: int) -> None:
    """A few whole people of a shared file, so that a full leave-device-out run takes seconds."""
    trials = load_trials(path)
    fallers = np.unique(trials.subject[trials.label == 1])[:3]
    others = np.setdiff1d(np.unique(trials.subject), fallers)[:1]
    keep = np.concatenate(
        [
            np.flatnonzero(np.isin(trials.subject, fallers) & (trials.label == 1))[:falls],
            np.flatnonzero(np.isin(trials.subject, fallers) & (trials.label == 0))[: adls // 2],
            np.flatnonzero(np.isin(trials.subject, others) & (trials.label == 0))[: adls // 2],
        ]
    ).tolist()
    small = subset(trials, keep)
    save(out, small, trials.meta)


def test_cli_leave_device_out_ends_with_the_device_report(tmp_path: Path) -> None:
    missing = [name for name in FILES if not (DATA_DIR / name).is_file()]
    if missing:
        pytest.skip(f"{', '.join(missing)} not in {DATA_DIR}; point ANXIN_FALL_DATA beside them")
    files = []
    for name in FILES:
        files.append(tmp_path / name)
        _small_file(DATA_DIR / name, files[-1], falls=8, adls=12)
    result = CliRunner().invoke(
        app, ["evaluate", "--leave-device-out", "--json", "--folds", "2", *map(str, files)]
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.output.strip().splitlines()[-1])
    names = [d["name"] for d in report["devices"]]
    assert len(names) == 3 and len(set(names)) == 3
    for row in report["devices"]:
        assert set(row) == {
            "name",
            "sensitivity",
            "specificity",
            "older_specificity",
            "trials",
            "falls",
            "false_alarms",
        }
        assert row["trials"] == 20 and row["falls"] == 8
    assert report["min_sensitivity"] == min(d["sensitivity"] for d in report["devices"])
    assert report["min_specificity"] == min(d["specificity"] for d in report["devices"])
    assert len(report["leave_subjects_out"]) == 3
    assert "cut-short" in result.output and "older" in result.output


def test_cli_refuses_a_device_report_from_one_file(tmp_path: Path) -> None:
    path = tmp_path / "one.npz"
    one = _set("one", [(_stamps(60, 50.0), "P1", "A01", 0)])
    save(path, one, one.meta)
    result = CliRunner().invoke(app, ["evaluate", "--leave-device-out", str(path)])
    assert result.exit_code == 1
    assert "at least two devices" in result.output
