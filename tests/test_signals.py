"""Signals during `generate` (issue 9, item 11), with the real console script and real
signals: SIGTERM cleans up as Ctrl-C does, and after SIGTERM or SIGKILL no worker, forkserver
or resource tracker outlives the command (so `adsgen … 2>&1 | tee log` ends); the hidden
folder a killed run leaves is removed by the next run on the same target.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from cliutil import ADSGEN, subprocess_env

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="Linux process semantics")

# Long enough (tens of seconds) that the signal lands while the workers simulate.
BIG = ("generate", "--line-items", "1500", "--days", "60", "--seed", "3", "--engine",
       "processes", "--workers", "2", "--block-size", "50")


def start(out: Path) -> tuple[subprocess.Popen[bytes], list[psutil.Process]]:
    """`adsgen generate` into `out`, its stdout and stderr on pipes, once its workers run
    and its hidden folder exists; the process and everything it started."""
    proc = subprocess.Popen([ADSGEN, *BIG, "--out", str(out)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=subprocess_env(), cwd=out.parent)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        family = psutil.Process(proc.pid).children(recursive=True)
        staged = [p for p in out.parent.iterdir() if p.name.startswith(f".{out.name}.adsgen-")
                  and p.is_dir() and any(p.rglob("part-*"))]
        if len(family) >= 4 and staged:  # tracker, forkserver, 2 workers; a block written
            return proc, family
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.2)
    proc.kill()
    pytest.fail("the run never started its workers")


def ended(proc: subprocess.Popen[bytes], family: list[psutil.Process]) -> tuple[int, str]:
    """Wait until every holder of the pipes closed them (as `| tee` does); (exit, stderr)."""
    _, err = proc.communicate(timeout=60)
    _, alive = psutil.wait_procs(family, timeout=10)
    assert not alive, [p.cmdline()[-1][:80] for p in alive]
    return proc.returncode, err.decode()


def hidden(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def test_sigterm_cleans_up_like_ctrl_c(tmp_path: Path) -> None:
    out = tmp_path / "run"
    proc, family = start(out)
    proc.send_signal(signal.SIGTERM)
    code, err = ended(proc, family)
    assert code != 0, err
    assert "Traceback" not in err
    assert list(tmp_path.iterdir()) == []  # no output, no hidden folder, no lock


def test_sigkill_leaves_no_process_and_the_next_run_cleans_up(tmp_path: Path) -> None:
    out = tmp_path / "run"
    proc, family = start(out)
    proc.kill()
    code, _ = ended(proc, family)
    assert code == -signal.SIGKILL
    left = [name for name in hidden(tmp_path) if ".adsgen-" in name and "lock" not in name]
    assert left, "a SIGKILLed run leaves its hidden folder"
    # What the next run must leave alone: a live pid, another target, a name not adsgen's.
    keep = [f".run.adsgen-{os.getpid()}-abcdef", ".other.adsgen-999999-abcdef",
            ".run.adsgen-999999-notes"]
    for name in keep:
        (tmp_path / name).mkdir()
    done = subprocess.run([ADSGEN, "generate", "--line-items", "3", "--days", "2", "--out",
                           str(out), "--quiet"], capture_output=True, text=True,
                          env=subprocess_env(), timeout=120)
    assert done.returncode == 0, done.stderr
    assert hidden(tmp_path) == sorted(keep)
    assert (out / "manifest.json").is_file()


def test_a_previous_run_moved_aside_by_a_killed_run_is_put_back(tmp_path: Path) -> None:
    from adsgen.runs import target

    out = tmp_path / "run"
    aside = tmp_path / ".run.adsgen-999999-abcdef-old"
    aside.mkdir()
    (aside / "manifest.json").write_text("{}")
    (tmp_path / ".run.adsgen-999999-abcdef").mkdir()
    target.clean_stale(out)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]
    assert (out / "manifest.json").read_text() == "{}"
