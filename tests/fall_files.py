"""Small dataset files cut from the shared recordings, so that training runs in seconds."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from alerts.fall.dataset import TrialSet


def subset(trials: TrialSet, keep: Sequence[int]) -> TrialSet:
    """The trials ``keep`` of ``trials``, in that order."""
    keep = list(keep)
    pieces = [trials.trial(i) for i in keep]
    scale = trials.acc_scale_g
    return TrialSet(
        offsets=np.concatenate([[0], np.cumsum([p[0].size for p in pieces])]).astype(np.int64),
        t=np.concatenate([p[0] for p in pieces]).astype(np.float32),
        acc=np.round(np.concatenate([p[1] for p in pieces]) / scale).astype(np.int16),
        acc_scale_g=scale,
        label=trials.label[keep],
        subject=trials.subject[keep],
        activity=trials.activity[keep],
        meta=trials.meta,
        device=np.zeros(len(keep), dtype=np.int64),
        device_names=trials.device_names,
    )


def save(path: Path, trials: TrialSet, meta: dict[str, Any] | None = None) -> None:
    """Write ``trials`` in the shared dataset layout (with ``meta``, default the trials' own)."""
    np.savez(
        path,
        offsets=trials.offsets,
        t=trials.t,
        acc=trials.acc,
        label=trials.label,
        subject=trials.subject,
        activity=trials.activity,
        meta=np.array(json.dumps(trials.meta if meta is None else meta)),
    )
