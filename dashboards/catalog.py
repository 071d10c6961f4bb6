"""The Anxin dashboards, and their JSON files for Grafana's file provisioning.

The Python definitions are the source; ``dashboards/json/`` holds what ``anxin dashboards
export`` renders from them, committed because docker-compose mounts it into Grafana. A test
fails when the two disagree.
"""

from __future__ import annotations

import json
from pathlib import Path

from dashboards import facility, incidents, vitals
from dashboards.model import Dashboard

DASHBOARDS: tuple[Dashboard, ...] = (facility.DASHBOARD, vitals.DASHBOARD, incidents.DASHBOARD)
JSON_DIR = Path(__file__).parent / "json"
FOLDER_UID = "anxin"
FOLDER_TITLE = "Anxin"


def file_name(dashboard: Dashboard) -> str:
    return f"{dashboard.uid}.json"


def render(dashboard: Dashboard) -> str:
    """The file content: stable key order and indentation, so diffs of a change stay small."""
    return json.dumps(dashboard.to_json(), indent=2, ensure_ascii=False) + "\n"


def export(directory: Path) -> list[Path]:
    """Write every dashboard's JSON file into ``directory``; returns the files written."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for dashboard in DASHBOARDS:
        path = directory / file_name(dashboard)
        path.write_text(render(dashboard), encoding="utf-8")
        written.append(path)
    return written
