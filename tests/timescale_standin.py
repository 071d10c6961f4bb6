"""A PostgreSQL installation on which TimescaleDB is "available" but cannot be loaded.

TimescaleDB cannot be installed on the test machines, and writing a control file into the
system's extension directory would make it "available" to every cluster there, the shared test
server included, breaking other runs. PostgreSQL finds its share directory relative to the
``postgres`` binary, so a copy of ``pg_ctl`` and ``postgres`` in a private tree that mirrors the
real layout reads the private tree's extension directory: there the real control files plus a
stand-in ``timescaledb.control``. The shared library directory is the real one, which has no
TimescaleDB, and no cluster preloads it: exactly "installed but not preloaded" as far as the
catalogue can tell.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
from pathlib import Path

STANDIN_VERSION = "2.28.3"
STANDIN_CONTROL = f"""\
# Stand-in written by tests/timescale_standin.py: it makes the extension listed as available.
comment = 'stand-in for TimescaleDB in Anxin tests'
default_version = '{STANDIN_VERSION}'
module_pathname = '$libdir/timescaledb'
relocatable = false
"""


def _pg_config(flag: str) -> Path:
    pg_config = shutil.which("pg_config") or "/usr/lib/postgresql/15/bin/pg_config"
    return Path(
        subprocess.run([pg_config, flag], check=True, capture_output=True, text=True).stdout.strip()
    )


def _mirror(root: Path, real: Path) -> Path:
    """``real``'s path inside ``root``, so that relative lookups from the binaries match."""
    inside = root / real.relative_to("/")
    inside.parent.mkdir(parents=True, exist_ok=True)
    return inside


def build_standin_installation(root: Path) -> Path:
    """Lay out the private installation under ``root``; returns its bin directory."""
    bindir, sharedir, libdir = (_pg_config(f) for f in ("--bindir", "--sharedir", "--pkglibdir"))
    bin_copy = _mirror(root, bindir)
    bin_copy.mkdir()
    for name in ("postgres", "pg_ctl"):
        shutil.copy2(bindir / name, bin_copy / name)  # a copy: a symlink resolves to the real one
    _mirror(root, libdir).symlink_to(libdir)
    share_copy = _mirror(root, sharedir)
    share_copy.mkdir()
    for entry in sharedir.iterdir():
        if entry.name != "extension":
            (share_copy / entry.name).symlink_to(entry)
    extensions = share_copy / "extension"
    extensions.mkdir()
    for entry in (sharedir / "extension").iterdir():
        (extensions / entry.name).symlink_to(entry)
    (extensions / "timescaledb.control").write_text(STANDIN_CONTROL)
    if os.geteuid() == 0:
        for path in (root, *root.rglob("*")):
            os.chown(path, *_postgres_ids(), follow_symlinks=False)
    return bin_copy


def _postgres_ids() -> tuple[int, int]:
    """PostgreSQL refuses to run as root, so as root the tests run it as ``postgres``."""
    entry = pwd.getpwnam("postgres")
    return entry.pw_uid, entry.pw_gid
