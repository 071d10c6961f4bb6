"""The server-side fall classifier: impact window in, fall probability and decision out."""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from alerts.fall.classifier import ClassifierFormatError, FallClassifier
from alerts.fall.features import FEATURE_NAMES, N_SUMMARY, window_features
from alerts.fall.trigger import ImpactWindow
from anxin.errors import AnxinError

logger = logging.getLogger(__name__)

ARTIFACT_FORMAT = "anxin-fall-model/2"
DEFAULT_ARTIFACT = Path(__file__).parent / "artifacts" / "fall_model.json"


class FallModelError(AnxinError):
    """The model artifact is missing, damaged or made for other features."""


@dataclass(frozen=True)
class FallModel:
    """The classifier plus the decision threshold chosen in cross-validation, and how they were
    made."""

    classifier: FallClassifier
    threshold: float
    info: dict[str, Any] = field(default_factory=dict)
    version: str = ""
    """First 12 hex digits of the artifact's SHA-256: which model judged a window, so labels
    gathered in the field can be traced to it (empty for a model not loaded from a file)."""

    @classmethod
    def load(cls, path: Path | None = None) -> FallModel:
        """Load an artifact (default: the one shipped in the package). JSON only, no pickle."""
        path = DEFAULT_ARTIFACT if path is None else path
        try:
            text = path.read_text(encoding="utf-8")
            data = json.loads(text)
        except FileNotFoundError as exc:
            raise FallModelError(
                f"no fall model at {path}; train one with `anxin fall train DATA.npz --out {path}`"
            ) from exc
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise FallModelError(f"{path} is not a readable fall model ({exc}); retrain") from exc
        if not isinstance(data, dict) or data.get("format") != ARTIFACT_FORMAT:
            raise FallModelError(f"{path} is not a {ARTIFACT_FORMAT} artifact; retrain it")
        if tuple(data.get("feature_names", ())) != FEATURE_NAMES:
            raise FallModelError(
                f"{path} was trained on a different feature set than this code computes; "
                "retrain it with `anxin fall train`"
            )
        try:
            classifier = FallClassifier.from_json(data, N_SUMMARY, len(FEATURE_NAMES))
            threshold = float(data["threshold"])
        except (KeyError, TypeError, ValueError, ClassifierFormatError) as exc:
            raise FallModelError(f"{path} is damaged ({exc}); retrain it") from exc
        if not 0.0 < threshold < 1.0:
            raise FallModelError(f"{path} has an invalid threshold {threshold}; retrain it")
        return cls(
            classifier=classifier,
            threshold=threshold,
            info=dict(data.get("info", {})),
            version=hashlib.sha256(text.encode()).hexdigest()[:12],
        )

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        document = {
            "format": ARTIFACT_FORMAT,
            "feature_names": list(FEATURE_NAMES),
            "threshold": self.threshold,
            "info": self.info,
            **self.classifier.to_json(),
        }
        path.write_text(json.dumps(document, separators=(",", ":")) + "\n", encoding="utf-8")
        logger.info("wrote fall model to %s", path)

    def score(self, window: ImpactWindow) -> float:
        """Probability that the window holds a fall."""
        return float(self.classifier.predict_proba(window_features(window))[0])

    def is_fall(self, window: ImpactWindow) -> bool:
        return self.score(window) >= self.threshold
