"""`anxin dashboards ...`: provision a Grafana, export the dashboard files, check every query."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from anxin.errors import AnxinError
from dashboards.catalog import DASHBOARDS, JSON_DIR, export

app = typer.Typer(
    help="Grafana dashboards: set up a Grafana, write the JSON files, check every query.",
    no_args_is_help=True,
)
console = Console(stderr=True)


@app.command("provision")
def provision_command(
    grafana_url: Annotated[
        str | None, typer.Option("--grafana-url", help="Grafana's URL [ANXIN_GRAFANA_URL]")
    ] = None,
    token: Annotated[
        str | None,
        typer.Option(help="service-account token, Admin role [ANXIN_GRAFANA_TOKEN]"),
    ] = None,
    user: Annotated[
        str | None,
        typer.Option(
            help="user when there is no token [ANXIN_GRAFANA_USER]; the password comes from "
            "ANXIN_GRAFANA_PASSWORD only"
        ),
    ] = None,
) -> None:
    """Create or update the data source, folder and dashboards in a Grafana (idempotent)."""
    from anxin.cli import load_settings
    from anxin.db import connect, detect_backend, wait_for_database
    from dashboards.provision import DataSourceSpec, Outcome, check_health, provision, shown
    from dashboards.provision import connect as grafana

    settings = load_settings()
    url = grafana_url or settings.grafana_url
    api = grafana(
        url,
        token=token if token is not None else settings.grafana_token,
        user=user or settings.grafana_user,
        password=settings.grafana_password,
    )
    version = check_health(api, url=url)
    wait_for_database(settings.database_url, timeout_s=5)
    with connect(settings.database_url) as conn:
        backend = detect_backend(conn)
    spec = DataSourceSpec.from_url(
        settings.grafana_database_url or settings.database_url,
        timescaledb=backend.is_timescale,
        server_version=backend.server_version,
    )
    table = Table("object", "name", "done", title=f"Grafana {version} at {shown(url)}")
    with Progress(console=console, transient=True) as bar:
        task = bar.add_task("provisioning", total=2 + len(DASHBOARDS))

        def step(outcome: Outcome) -> None:
            table.add_row(outcome.kind, outcome.title, outcome.action)
            bar.advance(task)

        provision(api, url=url, datasource=spec, dashboards=DASHBOARDS, on_step=step)
    console.print(table)
    console.print(f"data source: {spec.address}/{spec.database}, {backend.describe()}")


@app.command("export")
def export_command(
    out: Annotated[Path, typer.Option(help="directory for the JSON files")] = JSON_DIR,
) -> None:
    """Write the dashboards' JSON files (what docker compose mounts into Grafana)."""
    try:
        written = export(out)
    except OSError as exc:
        raise AnxinError(f"cannot write the dashboard files ({exc}); pass --out DIR") from None
    for path in written:
        console.print(f"wrote {path}")


@app.command("check")
def check_command() -> None:
    """Run every variable and panel query against ANXIN_DATABASE_URL, as Grafana would.

    Each dashboard's default time range, every variable set to all its values, read-only.
    Exit 1 if a query fails or returns what Grafana cannot draw.
    """
    from anxin.cli import load_settings
    from anxin.db import connect, detect_backend, wait_for_database
    from dashboards.check import check_dashboard

    settings = load_settings()
    wait_for_database(settings.database_url, timeout_s=5)
    table = Table("dashboard", "query", "rows", "ms", "problem")
    failed = 0
    with connect(settings.database_url) as conn:
        conn.read_only = True
        timescaledb = detect_backend(conn).is_timescale
        conn.rollback()
        end = datetime.now(UTC)
        for dashboard in DASHBOARDS:
            for result in check_dashboard(conn, dashboard, end=end, timescaledb=timescaledb):
                failed += result.problem is not None
                table.add_row(
                    result.dashboard,
                    result.target,
                    str(result.rows),
                    f"{result.elapsed_ms:.1f}",
                    f"[red]{result.problem}[/]" if result.problem else "",
                )
    Console().print(table)
    if failed:
        console.print(f"[red]{failed} queries failed[/]")
        raise typer.Exit(1)
