"""Read fall-detection recordings in the shared dataset layout (see shared/datasets/README.md)."""

from __future__ import annotations

import json
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from alerts.fall.preprocess import FloatArray
from anxin.errors import AnxinError

SHARED_DATA_DIR = Path(__file__).resolve().parents[3] / "shared" / "datasets"
"""The maintainers' recordings beside the repository (never copied into it)."""


def default_data_dir() -> Path:
    """Where training and evaluation look for dataset files when none are given: beside
    ``ANXIN_FALL_DATA`` if set (a clone elsewhere points it at a shared file), else the shared
    datasets folder."""
    env = os.environ.get("ANXIN_FALL_DATA")
    return Path(env).parent if env else SHARED_DATA_DIR


OLDER_SUBJECT_PREFIXES = ("SFMM-O",)
"""Subject ids of older adults (SmartFallMM's aged participants, see shared/datasets/README.md)."""

_REQUIRED = ("offsets", "t", "acc", "label", "subject", "activity", "meta")


class FallDataError(AnxinError):
    """The data file is missing or not in the dataset layout."""


@dataclass(frozen=True)
class TrialSet:
    """All trials of one file; samples stay in compact arrays until a trial is asked for."""

    offsets: npt.NDArray[np.int64]
    t: npt.NDArray[np.float32]
    acc: npt.NDArray[np.generic]
    acc_scale_g: float
    label: npt.NDArray[np.int8]
    subject: npt.NDArray[np.str_]
    activity: npt.NDArray[np.str_]
    meta: dict[str, Any]
    device: npt.NDArray[np.int64]
    """Index into ``device_names`` of the bracelet that recorded each trial."""
    device_names: tuple[str, ...]

    def __len__(self) -> int:
        return int(self.label.shape[0])

    def trial(self, i: int) -> tuple[FloatArray, FloatArray]:
        """Seconds and acceleration in g of trial ``i``."""
        lo, hi = int(self.offsets[i]), int(self.offsets[i + 1])
        t = self.t[lo:hi].astype(np.float64)
        acc = self.acc[lo:hi].astype(np.float64) * self.acc_scale_g
        return t, acc

    @property
    def name(self) -> str:
        return str(self.meta.get("name", "unnamed dataset"))

    def older(self) -> npt.NDArray[np.bool_]:
        """Trials of older adults, whose daily activities are judged on their own."""
        result: npt.NDArray[np.bool_] = np.char.startswith(self.subject, OLDER_SUBJECT_PREFIXES)
        return result

    @property
    def source(self) -> str:
        return str(self.meta.get("source", "unknown source"))


def load_trials(path: Path) -> TrialSet:
    """Load and check a data file, failing with a message that says what to do."""
    if not path.is_file():
        raise FallDataError(
            f"{path} does not exist. Pass the path of a dataset file in the shared layout, "
            "e.g. ../shared/datasets/fallalld_wrist.npz"
        )
    try:
        with np.load(path, allow_pickle=False) as data:
            missing = [k for k in _REQUIRED if k not in data.files]
            if missing:
                raise FallDataError(
                    f"{path} lacks arrays {', '.join(missing)}; a dataset file needs "
                    f"{', '.join(_REQUIRED)} (see shared/datasets/README.md)"
                )
            arrays = {k: data[k] for k in _REQUIRED}
    except (OSError, ValueError, zipfile.BadZipFile) as exc:
        raise FallDataError(
            f"{path} is not a readable .npz dataset file; pass a numpy .npz file in the shared "
            "dataset layout (see shared/datasets/README.md)"
        ) from exc
    return _build(path, arrays)


def _build(path: Path, a: dict[str, npt.NDArray[Any]]) -> TrialSet:
    try:
        meta = json.loads(str(a["meta"]))
    except json.JSONDecodeError as exc:
        raise FallDataError(f"{path}: 'meta' is not JSON ({exc}); see the dataset README") from exc
    offsets = a["offsets"].astype(np.int64)
    n = a["label"].shape[0]
    problems = []
    if offsets.shape != (n + 1,) or offsets[0] != 0 or offsets[-1] != a["t"].shape[0]:
        problems.append("offsets must have one entry per trial plus one and end at len(t)")
    if np.any(np.diff(offsets) < 2):
        problems.append("every trial needs at least two samples")
    if a["acc"].ndim != 2 or a["acc"].shape != (a["t"].shape[0], 3):
        problems.append("acc must have shape (len(t), 3)")
    if a["subject"].shape != (n,) or a["activity"].shape != (n,):
        problems.append("subject and activity need one entry per trial")
    if not set(np.unique(a["label"]).tolist()) <= {0, 1}:
        problems.append("label must be 0 (daily activity) or 1 (fall)")
    if problems:
        raise FallDataError(f"{path} is not in the dataset layout: " + "; ".join(problems))
    return TrialSet(
        offsets=offsets,
        t=a["t"].astype(np.float32, copy=False),
        acc=a["acc"],
        acc_scale_g=float(meta.get("acc_scale_g", 1.0)),
        label=a["label"].astype(np.int8),
        subject=a["subject"].astype(str),
        activity=a["activity"].astype(str),
        meta=meta,
        device=np.zeros(n, dtype=np.int64),
        device_names=(str(meta.get("name", path.stem)),),
    )
