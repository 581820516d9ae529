"""`adsgen stream --to nats://…`: against the NATS server (JetStream) at ADSGEN_TEST_NATS_URL.

Unset skips; set but unreachable fails (as conftest.py does for databases). Each test uses
a subject and stream of its own and deletes the stream. A test consumer reads every stored
message back: the JSON lines are the file sink's, byte for byte, and a second run of the
same stream stores nothing new (message id = event id, de-duplicated by the server).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cliutil import invoke

NATS_ENV = "ADSGEN_TEST_NATS_URL"
PLAN = ["--line-items", "2", "--days", "1", "--start", "2026-09-01", "--duration", "15m"]


async def _stored(url: str, stream: str) -> list[tuple[str, bytes, str]]:
    """(subject, payload, message id) of every message of the stream, in order, read by an
    ordered push consumer (a test consumer)."""
    import nats

    nc = await nats.connect(url)
    js = nc.jetstream()
    info = await js.stream_info(stream)
    total = info.state.messages
    done = asyncio.Event()
    found: list[tuple[str, bytes, str]] = []

    async def take(msg: Any) -> None:
        found.append((msg.subject, msg.data or b"", (msg.headers or {}).get("Nats-Msg-Id", "")))
        if len(found) >= total:
            done.set()

    sub = await js.subscribe((info.config.subjects or [">"])[0], stream=stream, cb=take,
                             ordered_consumer=True)
    if total:
        await asyncio.wait_for(done.wait(), timeout=120)
    await sub.unsubscribe()
    await nc.close()
    return found


async def _delete(url: str, stream: str) -> None:
    import nats

    nc = await nats.connect(url)
    try:
        await nc.jetstream().delete_stream(stream)
    finally:
        await nc.close()


@pytest.fixture
def nats_target() -> Iterator[tuple[str, str, str]]:
    url = os.environ.get(NATS_ENV, "").strip()
    if not url:
        pytest.skip(f"{NATS_ENV} is not set")
    import nats

    async def ping() -> None:
        nc = await asyncio.wait_for(nats.connect(url, connect_timeout=5, allow_reconnect=False,
                                                 max_reconnect_attempts=1), timeout=15)
        await nc.close()

    try:
        asyncio.run(ping())
    except Exception as exc:
        pytest.fail(f"{NATS_ENV} is set but NATS is not usable: {exc}", pytrace=False)
    token = f"t{os.getpid()}{secrets.token_hex(3)}"
    subject, stream = f"adsgentest.{token}", f"ADSGEN_TEST_{token.upper()}"
    yield url, subject, stream
    with contextlib.suppress(Exception):  # the test may have failed before creating it
        asyncio.run(_delete(url, stream))


def test_nats_holds_every_event_once(nats_target: tuple[str, str, str],
                                     tmp_path: Path) -> None:
    url, subject, stream = nats_target
    target = f"{url.rstrip('/')}/{subject}?stream={stream}"
    result = invoke("-q", "stream", *PLAN, "--speed", "3600", "--to", target)
    assert result.exit_code == 0, result.output
    stored = asyncio.run(_stored(url, stream))
    events = tmp_path / "e.jsonl"
    assert invoke("-q", "stream", *PLAN, "--speed", "max", "--to", f"file:{events}"
                  ).exit_code == 0
    assert b"\n".join(p for _, p, _ in stored) + b"\n" == events.read_bytes()
    assert all(s == f"{subject}.{json.loads(p)['type']}" for s, p, _ in stored[:500])
    assert all(i and i in p.decode() for _, p, i in stored[:500])
    again = invoke("-q", "stream", *PLAN, "--speed", "max", "--to", target)
    assert again.exit_code == 0, again.output
    assert len(asyncio.run(_stored(url, stream))) == len(stored)  # de-duplicated


def test_unreachable_nats_exits_2_without_the_password() -> None:
    result = invoke("stream", *PLAN, "--speed", "max", "--to",
                    "nats://me:s3cret@127.0.0.1:1/subject")
    assert result.exit_code == 2
    assert "s3cret" not in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("error: cannot reach NATS")
