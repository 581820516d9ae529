"""Kill and resume: a stream killed with SIGKILL mid-run and resumed from its checkpoint
delivers every event exactly once (the file is cut back to the last acknowledged byte and
the replay skips what was acknowledged), faults and their ledger included."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

from cliutil import ADSGEN, invoke, subprocess_env

PLAN = ["--line-items", "2", "--days", "1", "--start", "2026-09-01", "--duration", "4h"]


def _kill_mid_stream(args: list[str], out: Path, checkpoint: Path) -> None:
    """Run the stream slowly and SIGKILL it once it has written and checkpointed a part."""
    proc = subprocess.Popen([ADSGEN, "-q", "stream", *args], env=subprocess_env(),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline:
            if checkpoint.exists() and out.exists() and out.stat().st_size > 100_000:
                break
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            time.sleep(0.05)
        time.sleep(0.3)  # some events sent after the checkpoint: they must not come twice
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()


def test_killed_stream_resumes_without_loss_or_duplicates(tmp_path: Path) -> None:
    whole = tmp_path / "whole.jsonl"
    ledger_whole = tmp_path / "whole-ledger.jsonl"
    faults = ["--faults", "duplicate=0.01,late=0.01,out_of_order=0.02,drop=0.005"]
    done = invoke("-q", "stream", *PLAN, "--speed", "max", *faults, "--ledger",
                  str(ledger_whole), "--to", f"file:{whole}")
    assert done.exit_code == 0, done.output

    out = tmp_path / "events.jsonl"
    ledger = tmp_path / "ledger.jsonl"
    checkpoint = tmp_path / "stream.ckpt"
    args = [*PLAN, *faults, "--ledger", str(ledger), "--to", f"file:{out}",
            "--checkpoint", str(checkpoint)]
    _kill_mid_stream([*args, "--speed", "max", "--rate", "60000"], out, checkpoint)
    partial = out.read_bytes()
    assert 0 < len(partial) < whole.stat().st_size
    resumed = invoke("-q", "stream", *args, "--speed", "max", "--resume")
    assert resumed.exit_code == 0, resumed.output
    assert out.read_bytes() == whole.read_bytes()
    assert ledger.read_bytes() == ledger_whole.read_bytes()


def test_resume_refuses_a_checkpoint_of_another_stream(tmp_path: Path) -> None:
    checkpoint = tmp_path / "c.ckpt"
    out = tmp_path / "e.jsonl"
    first = invoke("-q", "stream", *PLAN, "--speed", "max", "--to", f"file:{out}",
                   "--checkpoint", str(checkpoint))
    assert first.exit_code == 0, first.output
    other = invoke("-q", "--seed", "7", "stream", *PLAN, "--speed", "max", "--to",
                   f"file:{out}", "--checkpoint", str(checkpoint), "--resume")
    assert other.exit_code == 2
    assert "other options" in other.stderr
