"""`adsgen stream --to redis://…`: against the Redis server at ADSGEN_TEST_REDIS_URL.

Unset skips these tests; set but unreachable fails them (as the database servers do in
conftest.py). Each test uses a stream key of its own and deletes it.
"""

from __future__ import annotations

import io
import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pyarrow.json as pj
import pytest

from adsgen.stream.encode import from_arrow
from adsgen.stream.rollup import rollup
from cliutil import invoke

REDIS_ENV = "ADSGEN_TEST_REDIS_URL"
PLAN = ["--line-items", "2", "--days", "1", "--start", "2026-09-01", "--duration", "2h",
        "--speed", "max"]


@pytest.fixture
def redis_url() -> Iterator[tuple[str, str]]:
    url = os.environ.get(REDIS_ENV, "").strip()
    if not url:
        pytest.skip(f"{REDIS_ENV} is not set")
    import redis

    client = redis.Redis.from_url(url)
    try:
        client.ping()
    except redis.RedisError as exc:
        pytest.fail(f"{REDIS_ENV} is set but Redis is not usable: {exc}", pytrace=False)
    key = f"adsgen-test-{os.getpid()}-{secrets.token_hex(3)}"
    yield url, key
    client.delete(key)
    client.close()


def _entries(url: str, key: str) -> list[dict[bytes, bytes]]:
    import redis

    client = redis.Redis.from_url(url)
    rows = [fields for _, fields in client.xrange(key)]
    client.close()
    return rows


def test_redis_stream_holds_every_event_and_reconciles(redis_url: tuple[str, str],
                                                       tmp_path: Path) -> None:
    url, key = redis_url
    target = f"{url}?stream={key}&maxlen=0"
    result = invoke("-q", "--json", "stream", *PLAN, "--to", target)
    assert result.exit_code == 0, result.output
    entries = _entries(url, key)
    file_out = tmp_path / "e.jsonl"
    assert invoke("-q", "stream", *PLAN, "--to", f"file:{file_out}").exit_code == 0
    lines = b"\n".join(e[b"data"] for e in entries) + b"\n"
    assert lines == file_out.read_bytes()
    assert {e[b"type"] for e in entries} >= {b"impression", b"complete"}
    assert rollup(from_arrow(pj.read_json(io.BytesIO(lines)))).num_rows > 0


def test_maxlen_bounds_the_stream(redis_url: tuple[str, str]) -> None:
    url, key = redis_url
    result = invoke("-q", "stream", *PLAN, "--to", f"{url}?stream={key}&maxlen=5000")
    assert result.exit_code == 0, result.output
    assert 5000 <= len(_entries(url, key)) < 20000  # approximate trimming (MAXLEN ~)


def test_unreachable_redis_exits_2_without_the_password() -> None:
    result = invoke("stream", *PLAN, "--to", "redis://me:s3cret@127.0.0.1:1/0?stream=x")
    assert result.exit_code == 2
    line = result.stderr.strip().splitlines()[-1]
    assert line.startswith("error: cannot reach Redis") and "s3cret" not in result.stderr


def test_killed_redis_stream_resumes_without_loss_or_duplicates(
        redis_url: tuple[str, str], tmp_path: Path) -> None:
    """SIGKILL mid-stream, then --resume: the entries written after the last checkpoint are
    counted and skipped, so the stream holds every event once, in order."""
    import os
    import signal
    import subprocess
    import time

    from cliutil import ADSGEN, subprocess_env

    url, key = redis_url
    target = f"{url}?stream={key}&maxlen=0"
    whole = tmp_path / "whole.jsonl"
    plan = [*PLAN[:-2], "--duration", "4h"]
    assert invoke("-q", "stream", *plan, "--speed", "max", "--to", f"file:{whole}"
                  ).exit_code == 0
    checkpoint = tmp_path / "r.ckpt"
    args = ["-q", "stream", *plan, "--to", target, "--checkpoint", str(checkpoint)]
    proc = subprocess.Popen([ADSGEN, *args, "--speed", "max", "--rate", "60000"],
                            env=subprocess_env(), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    import redis

    client = redis.Redis.from_url(url)
    deadline = time.monotonic() + 120
    # Kill once a checkpoint is written and entries have reached Redis (a fixed sleep after
    # the checkpoint alone found the stream still empty on a loaded machine).
    while (not checkpoint.exists() or client.xlen(key) == 0) and \
            time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.02)
    client.close()
    time.sleep(0.2)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert 0 < len(_entries(url, key)) < sum(1 for _ in whole.open())
    resumed = invoke(*args, "--speed", "max", "--resume")
    assert resumed.exit_code == 0, resumed.output
    lines = b"\n".join(e[b"data"] for e in _entries(url, key)) + b"\n"
    assert lines == whole.read_bytes()
