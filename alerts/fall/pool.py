"""Several dataset files as one set of trials, each trial remembering the bracelet it came from.

Training on every device and judging on a device left out both need the trials side by side. A
subject id names the same person in every file that shares it (SmartFallMM's watch and wrist IMU
were worn at the same time), so folds over subjects keep a person's trials on one side of a split
whichever device recorded them.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from alerts.fall.clocks import repair_clocks
from alerts.fall.dataset import FallDataError, TrialSet, load_trials


def load_pool(paths: Sequence[Path]) -> TrialSet:
    """Load dataset files, give stampless trials a clock, and join them."""
    if not paths:
        raise FallDataError("no dataset files given; pass one or more .npz files")
    sets = [load_trials(path) for path in paths]
    names = [s.device_names[0] for s in sets]
    if len(set(names)) != len(names):
        raise FallDataError(f"the same device appears twice among {', '.join(map(str, paths))}")
    return combine(repair_clocks(sets))


def combine(sets: Sequence[TrialSet]) -> TrialSet:
    """One trial set holding every trial of ``sets`` in order; ``device`` tells them apart."""
    if len(sets) == 1:
        return sets[0]
    scales = {s.acc_scale_g for s in sets}
    if len(scales) == 1:
        acc = np.concatenate([s.acc for s in sets])
        scale = scales.pop()
    else:
        acc = np.concatenate([s.acc.astype(np.float32) * s.acc_scale_g for s in sets])
        scale = 1.0
    starts = np.cumsum([0] + [s.t.shape[0] for s in sets])
    offsets = np.concatenate(
        [[0]] + [s.offsets[1:] + start for s, start in zip(sets, starts, strict=False)]
    )
    names: list[str] = []
    device = []
    for s in sets:
        device.append(s.device + len(names))
        names.extend(s.device_names)
    return TrialSet(
        offsets=offsets.astype(np.int64),
        t=np.concatenate([s.t for s in sets]),
        acc=acc,
        acc_scale_g=scale,
        label=np.concatenate([s.label for s in sets]),
        subject=np.concatenate([s.subject for s in sets]),
        activity=np.concatenate([s.activity for s in sets]),
        meta={
            "name": " + ".join(names),
            "source": "; ".join(dict.fromkeys(s.source for s in sets)),
            "files": [s.meta for s in sets],
        },
        device=np.concatenate(device),
        device_names=tuple(names),
    )
