"""Ctrl-C: a real SIGINT during a long run prints one line, exits 130 and leaves nothing.

Each test starts the installed console script in its own process group, waits until the run
is under way, and sends SIGINT to the whole group, as a terminal's Ctrl-C does (worker
processes included). The database, or the output folder, must be exactly as before.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

from tests.cliutil import ADSGEN, console_script, dump, sqlite_url, subprocess_env

INTERRUPTED = "interrupted; nothing was written"


def _interrupt(*args: str, cwd: Path, after: float) -> subprocess.CompletedProcess[str]:
    """Run adsgen, SIGINT its process group `after` seconds later and return what it
    printed. Fails if the run ended before the signal."""
    process = subprocess.Popen(
        [ADSGEN, *args], cwd=cwd, env=subprocess_env(), text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
        # a shell's background job inherits SIGINT ignored; a terminal's foreground one not
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    time.sleep(after)
    assert process.poll() is None, "the run ended before it could be interrupted"
    os.killpg(process.pid, signal.SIGINT)
    stdout, stderr = process.communicate(timeout=120)
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


def test_ctrl_c_during_run_all_leaves_the_database_as_it_was(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "ads.db")
    assert console_script("--db", url, "run-all", "-q", cwd=tmp_path).returncode == 0
    before = dump(url, timestamps=True)
    done = _interrupt("--db", url, "run-all", "--scale", "400", "-q", cwd=tmp_path, after=2.5)
    assert done.returncode == 130, done.stderr
    assert done.stderr == INTERRUPTED + "\n" and done.stdout == ""
    assert dump(url, timestamps=True) == before


def test_ctrl_c_during_generate_on_processes_writes_no_folder(tmp_path: Path) -> None:
    done = _interrupt("generate", "--line-items", "4000", "--days", "90", "--engine",
                      "processes", "--workers", "2", "--out", "run", "--json", "-q",
                      cwd=tmp_path, after=1.5)
    assert done.returncode == 130, done.stderr
    assert done.stderr == INTERRUPTED + "\n"  # one line, none from the workers
    assert json.loads(done.stdout) == {"error": INTERRUPTED, "code": 130}
    assert list(tmp_path.iterdir()) == []  # no --out, no hidden folder left behind


def test_ctrl_c_during_load_loads_nothing(tmp_path: Path) -> None:
    made = console_script("generate", "--line-items", "400", "--days", "90", "--out", "run",
                          "-q", cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    url = sqlite_url(tmp_path / "loaded.db")
    done = _interrupt("--db", url, "load", "run", cwd=tmp_path, after=2.5)
    assert done.returncode == 130, done.stderr
    assert done.stderr.splitlines()[-1] == INTERRUPTED  # after the progress bar
    assert all(not rows for rows in dump(url).values())
