"""Stream memory benchmark: is the peak RSS of `adsgen stream --speed max` flat over time?

Runs `adsgen stream --speed max --quiet` to a file in a child process for `--minutes`
(default 10) of wall time after its first event, sampling the child's RSS every `--every`
seconds (psutil), then stops it with SIGINT. The file is cut back to empty at every sample,
so a long run does not fill the disk (the sink appends: it writes on at the new end; its
writes and fsyncs are real). Prints the RSS when the first event reached the file (the plan
is drawn and simulated before it: that part is the plan's, not the stream's), its peak and
its end, the slope of a least-squares line through the samples after the first event (MiB
per minute), and the events streamed (the lines the file received).

    .venv/bin/python benchmarks/bench_stream_rss.py
    .venv/bin/python benchmarks/bench_stream_rss.py --minutes 2 --line-items 20 --days 60

The default plan (20 line items, 30 days) holds more events than ten minutes stream at
this machine's speed; the run says so when the stream ended before the time was up.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import psutil

MIB = 1024 * 1024


def _lines(path: Path) -> int:
    """Newlines in the file (what was written since the last cut)."""
    count = 0
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 24):
            count += chunk.count(b"\n")
    return count


def main() -> None:
    """Run the stream, sample, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--every", type=float, default=5.0, help="seconds between samples")
    parser.add_argument("--line-items", type=int, default=20)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--start", default="2026-09-01")
    parser.add_argument("--samples", type=Path, help="write the samples here (CSV)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "events.jsonl"
        argv = [sys.executable, "-m", "adsgen", "stream", "--to", f"file:{out}",
                "--speed", "max", "--quiet", "--line-items", str(args.line_items),
                "--days", str(args.days), "--start", args.start]
        began = time.monotonic()
        child = subprocess.Popen(  # SIGINT as from a terminal, even when this runs with &
            argv, stdout=subprocess.DEVNULL,
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
        proc = psutil.Process(child.pid)
        samples: list[tuple[float, float]] = []  # (seconds since the first event, MiB)
        first_event: float | None = None
        lines = 0
        ended_early = False
        while first_event is None or time.monotonic() - first_event < args.minutes * 60:
            time.sleep(args.every)
            if child.poll() is not None:
                ended_early = True
                break
            try:
                rss = proc.memory_info().rss / MIB
            except psutil.NoSuchProcess:
                ended_early = True
                break
            if out.exists() and out.stat().st_size:
                now = time.monotonic()
                if first_event is None:
                    first_event = now
                lines += _lines(out)
                os.truncate(out, 0)
                samples.append((now - first_event, rss))
        if child.poll() is None:
            child.send_signal(signal.SIGINT)
            try:
                child.wait(timeout=60)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
        if out.exists():
            lines += _lines(out)
    wall = time.monotonic() - began
    if args.samples is not None:
        args.samples.write_text("seconds,rss_mib\n" + "".join(
            f"{t:.1f},{m:.1f}\n" for t, m in samples))
    if not samples:
        print(f"no event reached the file in {wall:.0f} s")
        return
    t = np.array([s[0] for s in samples])
    mib = np.array([s[1] for s in samples])
    slope = float(np.polyfit(t / 60, mib, 1)[0]) if len(t) > 1 else 0.0
    streamed = t[-1] if len(t) else 0.0
    print(f"stream {args.line_items} line items × {args.days} days, --speed max to a file: "
          f"{lines:,} events in {streamed:.0f} s after the first one "
          f"({lines / max(streamed, 1e-9):,.0f} events/s, sampled every {args.every:g} s)")
    print(f"RSS at the first event {mib[0]:,.0f} MiB, peak {mib.max():,.0f} MiB "
          f"(at {t[int(mib.argmax())]:.0f} s), end {mib[-1]:,.0f} MiB; "
          f"slope {slope:+.2f} MiB/min over {len(t)} samples")
    if ended_early:
        print("the stream ended before --minutes were up (the plan's events ran out): "
              "give more --days or --line-items")


if __name__ == "__main__":
    main()
