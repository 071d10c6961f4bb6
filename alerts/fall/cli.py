"""`anxin fall ...`: train the fall classifier and evaluate the whole detector on recordings."""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import psycopg
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from alerts.fall.dataset import FallDataError, TrialSet, default_data_dir
from alerts.fall.device_out import leave_device_out
from alerts.fall.evaluate import (
    Evaluation,
    cv_evaluation,
    device_profile,
    device_report,
    evaluate_loso,
    evaluate_model,
    split_by_device,
)
from alerts.fall.export import labelled_windows, pick_model, write_dataset
from alerts.fall.model import DEFAULT_ARTIFACT, FallModel
from alerts.fall.modelcard import render, write
from alerts.fall.pool import load_pool
from alerts.fall.train import (
    SENSITIVITY_FLOOR,
    THRESHOLD_DEVICES,
    CrossValidation,
    build_tables,
    cross_validate,
    train,
)
from alerts.fall.windows import WindowTable
from anxin.db import connect
from anxin.errors import AnxinError
from anxin.settings import Settings

app = typer.Typer(
    help="Fall detection: train the wrist fall classifier and evaluate trigger + classifier "
    "on recordings in the shared dataset layout.",
    no_args_is_help=True,
)

out_console = Console()
err_console = Console(stderr=True)

DataFilesArg = Annotated[
    list[Path] | None,
    typer.Argument(
        help="Dataset files (.npz) in the shared layout, one per device "
        "(default: every .npz in ../shared/datasets, or beside ANXIN_FALL_DATA).",
        show_default=False,
    ),
]
DEFAULT_FOLDS = 13
FoldsOpt = Annotated[
    int,
    typer.Option(
        "--folds",
        help="Subject folds (at most one per subject); on FallAllD alone the default 13 leaves "
        "one subject out.",
    ),
]
FloorOpt = Annotated[
    float, typer.Option("--min-sensitivity", help="Trial sensitivity the threshold must keep.")
]


@contextmanager
def _progress() -> Iterator[Callable[[str, int], Callable[[int], None]]]:
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=err_console, transient=False) as bar:

        def task(name: str, total: int) -> Callable[[int], None]:
            task_id = bar.add_task(name, total=total)
            return lambda step: bar.advance(task_id, step)

        yield task


def _load(data: Sequence[Path]) -> TrialSet:
    trials = load_pool(data)
    if len(trials) == 0:
        raise FallDataError(f"{', '.join(map(str, data))} hold no trials")
    return trials


def _at_most_one_per_subject(trials: TrialSet, folds: int) -> int:
    """Subject folds for ``trials``: asking for more than there are people would leave folds
    empty."""
    return min(folds, int(np.unique(trials.subject).size))


def _files(data: list[Path] | None) -> list[Path]:
    if data:
        return data
    folder = default_data_dir()
    found = sorted(folder.glob("*.npz"))
    if not found:
        raise FallDataError(
            f"no dataset files in {folder}; pass them (e.g. ../shared/datasets/*.npz) "
            "or set ANXIN_FALL_DATA to one of them"
        )
    return found


def _fail(exc: Exception) -> typer.Exit:
    err_console.print(f"[red]error:[/red] {exc}")
    return typer.Exit(code=1)


@app.command("train")
def train_command(
    data: DataFilesArg = None,
    out: Annotated[Path, typer.Option("--out", help="Where to write the model.")] = (
        DEFAULT_ARTIFACT
    ),
    folds: FoldsOpt = DEFAULT_FOLDS,
    card: Annotated[Path, typer.Option("--card", help="Where to write the model card.")] = Path(
        "docs/fall-model.md"
    ),
    min_sensitivity: FloorOpt = SENSITIVITY_FLOOR,
) -> None:
    """Cross-validate across subjects (and devices), train on all, write the model and its card."""
    try:
        files = _files(data)
        trials = _load(files)
        folds = _at_most_one_per_subject(trials, folds)
        with _progress() as progress:
            result = train(trials, folds, min_sensitivity, progress)
            names = [name for name, _ in THRESHOLD_DEVICES if name in result.tables]
            evaluations = [
                cv_evaluation(trials, result.cv, profile, windows=result.windows[name])
                for name, profile in THRESHOLD_DEVICES
                if name in names
            ]
            left_out = _leave_device_out(
                trials,
                result.train_table,
                result.tables["as recorded"],
                result.cv,
                folds,
                min_sensitivity,
                progress,
            )
        result.model.save(out)
        write(card, render(trials, result, evaluations, left_out, [str(f) for f in files]))
    except AnxinError as exc:
        raise _fail(exc) from None
    for ev in evaluations + left_out:
        _print_summary(ev)
    _print_folds(result.cv.fold_subjects, evaluations[0], result.cv.fold_thresholds.tolist())
    out_console.print(f"model written to {out} (threshold {result.model.threshold:.3f})")
    out_console.print(f"model card written to {card}")


def _leave_device_out(
    trials: TrialSet,
    train_table: WindowTable,
    recorded: WindowTable,
    cv: CrossValidation,
    folds: int,
    floor: float,
    progress: Callable[[str, int], Callable[[int], None]],
) -> list[Evaluation]:
    if len(trials.device_names) < 2:
        return []
    return leave_device_out(
        trials,
        train_table,
        recorded,
        cv,
        folds,
        floor,
        progress("leave-device-out", len(trials.device_names)),
    )


@app.command("evaluate")
def evaluate_command(
    data: DataFilesArg = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="End with one JSON line of the figures.")
    ] = False,
    loso: Annotated[
        bool,
        typer.Option("--loso", help="Retrain per fold so no subject is scored by its own model."),
    ] = False,
    leave_device_out: Annotated[
        bool,
        typer.Option(
            "--leave-device-out",
            help="Score each file's device with models trained on the other files only "
            "(and leave subjects out over the pool).",
        ),
    ] = False,
    rate: Annotated[
        float | None, typer.Option("--rate", help="Simulate a bracelet sampling at HZ.")
    ] = None,
    range_g: Annotated[
        float | None, typer.Option("--range-g", help="Simulate a bracelet clipping at ±G g.")
    ] = None,
    folds: FoldsOpt = DEFAULT_FOLDS,
    model_path: Annotated[
        Path | None, typer.Option("--model", help="Model file (default: the shipped one).")
    ] = None,
    min_sensitivity: FloorOpt = SENSITIVITY_FLOOR,
) -> None:
    """Run trigger, window and classifier over every trial and report trial-level figures."""
    try:
        files = _files(data)
        if leave_device_out:
            _evaluate_devices(files, folds, min_sensitivity, as_json)
            return
        if len(files) > 1 and not loso:
            raise FallDataError(
                "several files need --leave-device-out or --loso; the shipped model is "
                "evaluated on one file at a time"
            )
        trials = _load(files)
        _check_device(trials, rate, range_g)
        profile = device_profile(rate, range_g)
        with _progress() as progress:
            if loso:
                folds = _at_most_one_per_subject(trials, folds)
                ev = evaluate_loso(trials, folds, profile, min_sensitivity, progress)
            else:
                ev = evaluate_model(trials, FallModel.load(model_path), profile, progress)
    except AnxinError as exc:
        raise _fail(exc) from None
    _print_summary(ev)
    _print_activities(ev)
    if as_json:
        print(json.dumps(ev.summary(), sort_keys=True))


def _evaluate_devices(files: list[Path], folds: int, floor: float, as_json: bool) -> None:
    trials = _load(files)
    if len(trials.device_names) < 2:
        raise FallDataError("--leave-device-out needs dataset files of at least two devices")
    folds = _at_most_one_per_subject(trials, folds)
    with _progress() as progress:
        train_table, tables = build_tables(trials, progress=progress)
        cv = cross_validate(
            trials, train_table, tables, folds, floor, progress("cross-validation", folds)
        )
        left_out = _leave_device_out(
            trials, train_table, tables["as recorded"], cv, folds, floor, progress
        )
    pooled = split_by_device(trials, cv_evaluation(trials, cv, None, len(tables["as recorded"])))
    for ev in left_out + pooled:
        _print_summary(ev)
        _print_activities(ev)
    if as_json:
        print(json.dumps(device_report(left_out, pooled), sort_keys=True))


@app.command("export")
def export_command(
    out: Annotated[Path, typer.Option("--out", help="Dataset file (.npz) to write.")],
    device_model: Annotated[
        str | None,
        typer.Option(
            "--device-model", help="Bracelet model to export (needed when there are several)."
        ),
    ] = None,
) -> None:
    """Write the impact windows of resolved fall alarms, labelled by the person who resolved
    them, as a dataset file that `anxin fall train` takes beside the public ones."""
    settings = Settings()
    key = settings.fall_export_key.encode()
    if not key:
        key = secrets.token_bytes(32)
        err_console.print(
            "[yellow]note:[/yellow] ANXIN_FALL_EXPORT_KEY is not set: residents get pseudonyms "
            "under a fresh key, so the same person has another subject id in other exports"
        )
    try:
        with connect(settings.database_url) as conn:
            windows = pick_model(labelled_windows(conn=conn, key=key), device_model)
        meta = write_dataset(out, windows)
    except psycopg.Error as exc:
        raise _fail(
            FallDataError(f"cannot read the database ({exc}); check ANXIN_DATABASE_URL")
        ) from None
    except AnxinError as exc:
        raise _fail(exc) from None
    falls = sum(w.label for w in windows)
    out_console.print(
        f"{len(windows)} labelled windows ({falls} falls, {len(windows) - falls} not falls) "
        f"of {meta['device_model']} from {len({w.subject for w in windows})} wearers "
        f"written to {out}"
    )


def _check_device(trials: TrialSet, rate: float | None, range_g: float | None) -> None:
    source_rate = float(trials.meta.get("nominal_rate_hz", 0) or 0)
    if rate is not None and not 5.0 <= rate <= (source_rate or rate):
        raise FallDataError(
            f"--rate must be between 5 Hz and the recordings' {source_rate:g} Hz; got {rate:g}"
        )
    if range_g is not None and not 1.0 <= range_g <= 16.0:
        raise FallDataError(f"--range-g must be between 1 and 16 g; got {range_g:g}")


def _fmt(value: Any) -> str:
    if value is None:
        return "n/a"
    return f"{100 * value:.2f} %"


def _print_summary(ev: Evaluation) -> None:
    s = ev.summary()
    table = Table(title=f"Fall detection, {ev.mode}, {ev.device}")
    columns = ("group", "trials", "falls detected", "sensitivity", "false alarms", "specificity")
    for column in columns:
        table.add_column(column, justify="left" if column == "group" else "right")
    for name, c in ev.groups():
        table.add_row(
            name,
            str(c["trials"]),
            f"{c['detected']} / {c['falls']}",
            _fmt(c["sensitivity"]),
            f"{c['false_alarms']} / {c['adl']}",
            _fmt(c["specificity"]),
        )
    out_console.print(table)
    ms_mean, ms_p99 = s["score_ms_mean"], s["score_ms_p99"]
    out_console.print(
        f"windows scored {s['windows']}; threshold "
        f"{_thresholds(s['threshold_min'], s['threshold_max'])}; ms per window mean "
        + ("n/a" if ms_mean is None else f"{ms_mean:.2f}")
        + ", p99 "
        + ("n/a" if ms_p99 is None else f"{ms_p99:.2f}")
    )


def _thresholds(low: float, high: float) -> str:
    return f"{low:.3f}" if low == high else f"{low:.3f}-{high:.3f} (per fold)"


def _print_activities(ev: Evaluation) -> None:
    table = Table(title="Per activity (falls: detected; daily activities: false alarms)")
    for column in ("activity", "kind", "trials", "alarms", "rate"):
        numeric = column in ("trials", "alarms", "rate")
        table.add_column(column, justify="right" if numeric else "left")
    for row in ev.per_activity():
        table.add_row(row.activity, row.kind, str(row.trials), str(row.alarms), _fmt(row.rate))
    out_console.print(table)


def _print_folds(subjects: list[list[str]], ev: Evaluation, thresholds: list[float]) -> None:
    table = Table(title="Leave-subjects-out folds (recordings as they are)")
    for column in ("fold", "subjects", "falls", "sensitivity", "daily", "specificity", "threshold"):
        table.add_column(column)
    for k, names in enumerate(subjects):
        mask = np.isin(ev.subject, names)
        falls = mask & (ev.label == 1)
        adls = mask & (ev.label == 0)
        table.add_row(
            str(k + 1),
            ", ".join(names),
            str(int(falls.sum())),
            _fmt(ev.detected[falls].mean()) if falls.any() else "n/a",
            str(int(adls.sum())),
            _fmt(1 - ev.detected[adls].mean()) if adls.any() else "n/a",
            f"{thresholds[k]:.3f}",
        )
    out_console.print(table)


if __name__ == "__main__":
    app()
