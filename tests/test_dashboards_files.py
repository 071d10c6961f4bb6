"""The dashboard files Grafana loads match their definitions, and docker compose wires them up."""

from __future__ import annotations

import shutil
import subprocess
from itertools import combinations
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from dashboards.catalog import DASHBOARDS, FOLDER_UID, JSON_DIR, file_name, render
from dashboards.cli import app
from dashboards.model import DATASOURCE, GRID_COLUMNS

ROOT = Path(__file__).resolve().parent.parent
PROVISIONING = ROOT / "dashboards" / "provisioning"


def test_committed_json_is_what_the_definitions_render(tmp_path):
    """Edit dashboards/*.py, then run 'anxin dashboards export': this fails until you do."""
    result = CliRunner().invoke(app, ["export", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    exported = sorted(p.name for p in tmp_path.glob("*.json"))
    assert sorted(p.name for p in JSON_DIR.glob("*.json")) == exported
    for name in exported:
        assert (JSON_DIR / name).read_text(encoding="utf-8") == (tmp_path / name).read_text(
            encoding="utf-8"
        ), f"dashboards/json/{name} is stale: run 'anxin dashboards export'"


@pytest.mark.parametrize("dashboard", DASHBOARDS, ids=lambda d: d.uid)
def test_panels_fit_the_grid_without_overlapping(dashboard):
    panels = dashboard.to_json()["panels"]
    assert len({p["id"] for p in panels}) == len(panels)
    boxes = []
    for panel in panels:
        grid = panel["gridPos"]
        assert grid["x"] >= 0 and grid["x"] + grid["w"] <= GRID_COLUMNS, panel["title"]
        boxes.append((grid["x"], grid["y"], grid["x"] + grid["w"], grid["y"] + grid["h"]))
    for a, b in combinations(boxes, 2):
        assert a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1], (a, b)


@pytest.mark.parametrize("dashboard", DASHBOARDS, ids=lambda d: d.uid)
def test_every_query_uses_the_provisioned_data_source(dashboard):
    model = dashboard.to_json()
    sources = [p["datasource"] for p in model["panels"] if p["type"] != "row"]
    sources += [v["datasource"] for v in model["templating"]["list"] if v["type"] == "query"]
    assert sources
    assert all(s == DATASOURCE for s in sources)
    assert render(dashboard).endswith("}\n")
    assert file_name(dashboard) == f"{dashboard.uid}.json"


def test_provisioning_files_name_the_same_data_source_and_folder():
    (source,) = yaml.safe_load((PROVISIONING / "datasources" / "anxin.yaml").read_text())[
        "datasources"
    ]
    assert {"uid": source["uid"], "type": source["type"]} == DATASOURCE
    (provider,) = yaml.safe_load((PROVISIONING / "dashboards" / "anxin.yaml").read_text())[
        "providers"
    ]
    assert provider["folderUid"] == FOLDER_UID

    grafana = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]["grafana"]
    mounts = dict(v.removesuffix(":ro").split(":") for v in grafana["volumes"])
    assert mounts["./dashboards/json"] == provider["options"]["path"]
    assert mounts["./dashboards/provisioning"] == "/etc/grafana/provisioning"


@pytest.mark.skipif(shutil.which("docker-compose") is None, reason="docker-compose not installed")
def test_compose_file_is_valid():
    result = subprocess.run(
        ["docker-compose", "config", "-q"], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
