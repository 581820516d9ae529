"""adsgen.runs.files from Python: a failed run leaves no output, a previous run survives a failed
overwrite, progress is reported in rows, and the estimate counts what the run writes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from adsgen.exceptions import AdsgenError
from adsgen.runs import blocks as export
from adsgen.runs import files as scale
from adsgen.runs.manifest import Manifest

SMALL: dict[str, Any] = {"line_items": 6, "days": 2, "seed": 5, "block_size": 2}
_run_block = export.run_block


def _failing_block(task: export.BlockTask) -> export.BlockResult:
    if task.index == 2:
        raise RuntimeError("disk on fire")
    return _run_block(task)


def test_a_failed_run_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(export, "run_block", _failing_block)
    with pytest.raises(RuntimeError, match="disk on fire"):
        scale.generate_files(out=tmp_path / "out", **SMALL)
    assert list(tmp_path.iterdir()) == []


def test_a_failed_overwrite_keeps_the_previous_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out"
    first = scale.generate_files(out=out, **SMALL)
    monkeypatch.setattr(export, "run_block", _failing_block)
    with pytest.raises(RuntimeError):
        scale.generate_files(out=out, overwrite=True, **{**SMALL, "seed": 6})
    assert Manifest.read(out) == first.manifest
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_progress_counts_rows_up_to_the_total(tmp_path: Path) -> None:
    seen: list[tuple[str, int, int]] = []
    result = scale.generate_files(out=tmp_path / "out", progress=lambda *a: seen.append(a),
                                  **SMALL)
    planning = [s for s in seen if s[0] == "planning line items"]
    assert planning[-1][1:] == (6, 6)
    rows = [s for s in seen if s[0] == scale.ROWS_STAGE]
    total = result.manifest.tables["performance"].rows
    assert len(rows) == 1 + result.manifest.blocks  # the start, then one per block
    assert rows[0][1:] == (0, total) and rows[-1][1:] == (total, total)
    assert [r[1] for r in rows] == sorted(r[1] for r in rows)


def test_estimate_counts_what_generate_writes(tmp_path: Path) -> None:
    guess = scale.estimate_files(**SMALL)
    made = scale.generate_files(out=tmp_path / "out", **SMALL)
    assert guess.rows["performance"] == made.manifest.tables["performance"].rows
    assert guess.entities == {t: made.manifest.tables[t].rows for t in guess.entities}
    assert (guess.blocks, guess.block_size) == (made.manifest.blocks, 2)


def test_out_must_be_a_folder(tmp_path: Path) -> None:
    target = tmp_path / "file"
    target.write_text("x")
    with pytest.raises(AdsgenError, match="is a file; give a folder"):
        scale.generate_files(out=target, **SMALL)
    with pytest.raises(AdsgenError, match="not the root"):
        scale.generate_files(out=Path("/"), **SMALL)
