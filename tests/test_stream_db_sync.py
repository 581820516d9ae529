"""`adsgen stream --to DATABASE`: live sync of hourly rollups, on SQLite, PostgreSQL and
MariaDB (the servers when configured, as conftest.py does).

The plan's entities land first; each closed hour's rollup is upserted, so the table grows
while the stream runs, and at the end it holds exactly the batch rows (with events) of
`adsgen generate` for the same options and seed. A database holding another dataset is
refused, and a stream run twice into the same database writes the same rows again.
"""

from __future__ import annotations

import subprocess
import time
from datetime import datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
from sqlalchemy import Engine, text

from adsgen.stream.rollup import active_rows
from cliutil import ADSGEN, invoke, subprocess_env

PLAN = ["--line-items", "2", "--days", "1", "--start", "2026-09-01"]
COLUMNS = ("line_item_id", "creative_id", "device", "impressions", "starts", "completes",
           "invalid", "clicks", "qr_scans", "click_conversions", "view_conversions",
           "cumulative_reach", "spend_micros")


def _url(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def _db_rows(engine: Engine) -> list[tuple[object, ...]]:
    with engine.connect() as conn:
        rows = conn.execute(text(
            f"SELECT {', '.join(COLUMNS)} FROM performance "
            "ORDER BY line_item_id, creative_id, hour, device")).all()
    return [tuple(r) for r in rows]


def _batch_rows(tmp_path: Path, hours: int) -> list[tuple[object, ...]]:
    made = invoke("-q", "generate", *PLAN, "--out", str(tmp_path / "batch"))
    assert made.exit_code == 0, made.output
    batch = ds.dataset(tmp_path / "batch" / "performance", partitioning="hive").to_table()
    limit = pa.scalar(datetime(2026, 9, 1, hours), type=batch.schema.field("hour").type)
    batch = active_rows(batch.filter(pc.less(batch["hour"], limit)))
    batch = batch.sort_by([(c, "ascending") for c in
                           ("line_item_id", "creative_id", "hour", "device")])
    return list(zip(*[batch[c].to_pylist() for c in COLUMNS], strict=True))


def test_live_sync_grows_and_ends_equal_to_the_batch(engine: Engine, tmp_path: Path) -> None:
    url = _url(engine)
    proc = subprocess.Popen([ADSGEN, "-q", "stream", *PLAN, "--duration", "4h", "--speed",
                             "3600", "--to", url], env=subprocess_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    seen: list[int] = []
    while proc.poll() is None:
        with engine.connect() as conn:
            seen.append(conn.execute(text("SELECT COUNT(*) FROM performance")).scalar_one())
        time.sleep(0.2)
    _, err = proc.communicate()
    assert proc.returncode == 0, err
    assert any(0 < n < seen[-1] for n in seen), seen  # some hours were there before the end
    batch = _batch_rows(tmp_path, 4)
    assert _db_rows(engine) == batch
    with engine.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM line_items")).scalar_one() == 2
    again = invoke("-q", "stream", *PLAN, "--duration", "4h", "--speed", "max", "--to", url)
    assert again.exit_code == 0, again.output
    assert _db_rows(engine) == batch


def test_live_sync_refuses_another_dataset(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'other.db'}"
    assert invoke("-q", "create-example", "--example", "luxury_auto_awareness",
                  "--db", url).exit_code == 0
    result = invoke("stream", *PLAN, "--duration", "1h", "--speed", "max", "--to", url)
    assert result.exit_code == 2
    assert "holds another dataset" in result.stderr.strip().splitlines()[-1]


def test_unreachable_database_exits_2_without_the_password() -> None:
    result = invoke("stream", *PLAN, "--duration", "1h", "--speed", "max", "--to",
                    "postgresql+psycopg://me:s3cret@127.0.0.1:1/ads")
    assert result.exit_code == 2
    assert "s3cret" not in result.stderr
