"""What a deployment has learned about its own bracelets, written out as training data.

The public recordings come from three lab devices; the bracelets a care home buys are not among
them. Every fall alarm that a person resolves labels the impact window behind it (``real``: a
fall; ``false_alarm``: a daily activity), so each deployment holds the one data set that
describes its own devices and wearers. This module writes those windows in the shared dataset
layout (``shared/datasets/README.md``) so that ``anxin fall train`` takes them beside the public
files.

Residents appear only as keyed pseudonyms (the same person gets the same subject id under the
same key, so leave-subjects-out still keeps a person on one side of a split); names, uids, sites
and times never leave the database. Alarms closed as ``test`` label nothing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import psycopg

from alerts.fall.dataset import FallDataError
from alerts.fall.preprocess import FloatArray
from alerts.fall_scoring import impact_window, stored_impact

logger = logging.getLogger(__name__)

Conn = psycopg.Connection[Any]

LABELS = {
    "real": (1, "FIELD-FALL"),
    "false_alarm": (0, "FIELD-FALSE-ALARM"),
    "cancelled": (0, "FIELD-CANCELLED"),
}
"""Alarm outcome, or a possible fall the wearer cancelled → (label, activity code)."""

UNKNOWN_MODEL = "unknown model"

_QUERY = """
WITH labelled AS (
    SELECT outcome, device_id, evidence FROM alarms
     WHERE kind = 'fall' AND state = 'resolved' AND outcome IN ('real', 'false_alarm')
    UNION ALL
    SELECT outcome, device_id, evidence FROM fall_prompts WHERE outcome = 'cancelled'
)
SELECT l.outcome, d.model, coalesce(r.uid, d.uid), w.seq, (l.evidence->>'impact_ts')::bigint,
       w.rate_hz, w.range_g, w.start_ms, w.acc, w.t_ms, (l.evidence->>'score')::float8,
       coalesce(l.evidence->>'model_version', '')
  FROM labelled l
  JOIN devices d ON d.id = l.device_id
  LEFT JOIN residents r ON r.id = d.resident_id
  JOIN impact_window w
    ON w.device_id = l.device_id
   AND w.seq = (l.evidence->>'seq')::bigint
   AND w.ts BETWEEN to_timestamp((l.evidence->>'impact_ts')::float8 / 1000) - interval '1 ms'
                AND to_timestamp((l.evidence->>'impact_ts')::float8 / 1000) + interval '1 ms'
 WHERE l.evidence ? 'impact_ts'
 ORDER BY w.ts, w.device_id
"""


@dataclass(frozen=True)
class FieldWindow:
    """One impact window as the bracelet sent it, with the label a person gave it."""

    subject: str
    device_model: str
    label: int
    activity: str
    t_s: FloatArray
    acc_g: FloatArray
    rate_hz: float
    range_g: float
    score: float
    model_version: str


def pseudonym(identity: str, key: bytes) -> str:
    """A subject id that names the same person under the same key and reveals nothing else."""
    return "FIELD-" + hashlib.blake2b(identity.encode(), key=key, digest_size=6).hexdigest()


def labelled_windows(*, conn: Conn, key: bytes) -> list[FieldWindow]:
    """Every impact window behind a fall alarm resolved as real or false alarm, or behind a
    possible fall that the wearer cancelled."""
    windows = []
    for row in conn.execute(_QUERY).fetchall():
        outcome, model, identity, seq, ts, rate, range_g, start_ms, flat, t_ms = row[:10]
        score, version = row[10:]
        window = impact_window(
            stored_impact(
                seq=seq,
                ts=ts,
                rate_hz=rate,
                range_g=range_g,
                start_ms=start_ms,
                flat_acc=flat,
                t_ms=t_ms,
            )
        )
        label, activity = LABELS[outcome]
        windows.append(
            FieldWindow(
                subject=pseudonym(identity, key),
                device_model=model or UNKNOWN_MODEL,
                label=label,
                activity=activity,
                t_s=window.t_s - window.t_s[0],
                acc_g=window.acc_g,
                rate_hz=float(rate),
                range_g=float(range_g),
                score=float("nan") if score is None else float(score),
                model_version=str(version),
            )
        )
    return windows


def pick_model(windows: list[FieldWindow], device_model: str | None) -> list[FieldWindow]:
    """The windows of one bracelet model: a dataset file describes one device, and pooling
    models in one file would hide the device shift that leave-device-out is there to measure."""
    counts = Counter(w.device_model for w in windows)
    if device_model is not None:
        if device_model not in counts:
            raise FallDataError(
                f"no labelled fall windows from device model {device_model!r}; "
                f"labelled models: {_listing(counts)}"
            )
        return [w for w in windows if w.device_model == device_model]
    if len(counts) > 1:
        raise FallDataError(
            f"labelled windows come from several device models ({_listing(counts)}); export one "
            "at a time with --device-model"
        )
    return windows


def _listing(counts: Counter[str]) -> str:
    return ", ".join(f"{m!r} ({n})" for m, n in sorted(counts.items())) or "none"


def write_dataset(path: Path, windows: list[FieldWindow]) -> dict[str, Any]:
    """Write the windows in the shared layout (plus ``score`` and ``model_version`` arrays);
    returns the file's meta."""
    if not windows:
        raise FallDataError(
            "no resolved fall alarms with their impact window to export; resolve fall alarms as "
            "real or false alarm first"
        )
    range_g = max(w.range_g for w in windows)
    scale = range_g / 32767.0
    sizes = [w.t_s.size for w in windows]
    model = windows[0].device_model
    meta = {
        "name": f"Anxin field ({model})",
        "position": "wrist",
        "nominal_rate_hz": float(np.median([w.rate_hz for w in windows])),
        "device_range_g": range_g,
        "uniform_rate": False,
        "acc_scale_g": scale,
        "source": "Anxin deployment: fall alarms resolved by staff, exported "
        + dt.datetime.now(dt.UTC).date().isoformat(),
        "device_model": model,
        "model_versions": sorted({w.model_version for w in windows if w.model_version}),
    }
    acc = np.concatenate([w.acc_g for w in windows])
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as out:
        np.savez_compressed(
            out,
            offsets=np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64),
            t=np.concatenate([w.t_s for w in windows]).astype(np.float32),
            acc=np.round(np.clip(acc, -range_g, range_g) / scale).astype(np.int16),
            label=np.array([w.label for w in windows], dtype=np.int8),
            subject=np.array([w.subject for w in windows]),
            activity=np.array([w.activity for w in windows]),
            meta=np.array(json.dumps(meta)),
            score=np.array([w.score for w in windows], dtype=np.float32),
            model_version=np.array([w.model_version for w in windows]),
        )
    logger.info("wrote %d labelled fall windows to %s", len(windows), path)
    return meta
