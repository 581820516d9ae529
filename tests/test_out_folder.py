"""What `--out`, `--overwrite` and `load` promise (issue 9): `--overwrite` replaces only what
adsgen recorded in the previous manifest, a run holds a lock on its target and never
replaces a folder changed under it, and `load` refuses a folder that is not what its
manifest says.

Small runs: 3 line items over 2 days, seconds each.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from adsgen.exceptions import AdsgenError
from adsgen.runs import blocks, files
from adsgen.runs.manifest import Manifest
from cliutil import counts, invoke, invoke_json, sqlite_url, user_error

SMALL = ("--line-items", "3", "--days", "2", "--seed", "7")
PY_SMALL: dict[str, Any] = {"line_items": 4, "days": 2, "seed": 7, "block_size": 2}


def generate(out: Path, *options: str) -> None:
    invoke_json("generate", *SMALL, "--out", str(out), *options)


# --- item 1: --overwrite only replaces what adsgen recorded -----------------------------------


def test_overwrite_keeps_a_user_file_inside_an_adsgen_named_folder(tmp_path: Path) -> None:
    out = tmp_path / "d"
    (out / "performance").mkdir(parents=True)
    (out / "performance" / "Q3_report.xlsx").write_text("Q3")
    (out / "manifest.json").write_text("{}")
    line = user_error(invoke("generate", *SMALL, "--out", str(out), "--overwrite"))
    assert "manifest.json" in line
    assert (out / "performance" / "Q3_report.xlsx").read_text() == "Q3"
    assert (out / "manifest.json").read_text() == "{}"


def test_overwrite_refuses_a_foreign_file_in_a_previous_run(tmp_path: Path) -> None:
    out = tmp_path / "d"
    generate(out)
    report = out / "performance" / "Q3_report.xlsx"
    report.write_text("Q3")
    line = user_error(invoke("generate", *SMALL, "--out", str(out), "--overwrite"))
    assert "performance/Q3_report.xlsx" in line
    assert report.read_text() == "Q3"


def test_overwrite_refuses_a_changed_file_of_a_previous_run(tmp_path: Path) -> None:
    out = tmp_path / "d"
    generate(out)
    part = next((out / "ground_truth").iterdir())
    part.write_bytes(part.read_bytes() + b"my edit")
    line = user_error(invoke("generate", *SMALL, "--out", str(out), "--overwrite"))
    assert f"ground_truth/{part.name}" in line and "changed" in line
    assert part.read_bytes().endswith(b"my edit")


def test_overwrite_replaces_a_previous_run_it_recorded(tmp_path: Path) -> None:
    out = tmp_path / "d"
    generate(out)
    generate(out, "--overwrite", "--seed", "8", "--format", "csv")
    manifest = Manifest.read(out)
    assert manifest.seed == 8
    written = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
    assert written == sorted([*manifest.files, "manifest.json"])
    for name, entry in manifest.files.items():
        assert (out / name).stat().st_size == entry.bytes


# --- item 2: one run at a time on a target, never replacing one changed under it -------------


def _during_first_block(monkeypatch: pytest.MonkeyPatch, action: Callable[[], None]) -> None:
    """Run `action` while the run simulates its first block (the target is claimed)."""
    real = blocks.run_block

    def block(task: blocks.BlockTask) -> blocks.BlockResult:
        if task.index == 0:
            action()
        return real(task)

    monkeypatch.setattr(blocks, "run_block", block)


def test_a_second_run_on_the_same_target_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "d"
    refused: list[str] = []

    def second_run() -> None:
        with pytest.raises(AdsgenError) as error:
            files.generate_files(out=out, overwrite=True, **PY_SMALL)
        refused.append(str(error.value))

    _during_first_block(monkeypatch, second_run)
    files.generate_files(out=out, **PY_SMALL)
    assert len(refused) == 1 and "another adsgen run" in refused[0], refused
    assert str(os.getpid()) in refused[0]
    assert Manifest.read(out).seed == PY_SMALL["seed"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d"]  # no lock or stage left


def test_files_put_into_out_during_a_run_are_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "d"

    def drop_a_file() -> None:
        out.mkdir()
        (out / "notes.txt").write_text("mine")

    _during_first_block(monkeypatch, drop_a_file)
    with pytest.raises(AdsgenError, match=r"changed while this run was writing \(notes.txt\)"):
        files.generate_files(out=out, **PY_SMALL)
    assert [p.name for p in out.iterdir()] == ["notes.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d"]


def test_a_previous_run_changed_during_an_overwrite_is_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "d"
    first = files.generate_files(out=out, **PY_SMALL)
    report = out / "performance" / "Q3_report.xlsx"
    _during_first_block(monkeypatch, lambda: report.write_text("Q3"))
    with pytest.raises(AdsgenError, match=r"performance/Q3_report\.xlsx"):
        files.generate_files(out=out, overwrite=True, **{**PY_SMALL, "seed": 8})
    assert report.read_text() == "Q3"
    assert Manifest.read(out) == first.manifest
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d"]


# --- item 6: targets a rename cannot replace -----------------------------------------------


@pytest.fixture
def mount_point(tmp_path: Path) -> Iterator[Path]:
    """A real tmpfs mounted on tmp_path/mnt (root only; skipped elsewhere)."""
    point = tmp_path / "mnt"
    point.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(point)],
                             capture_output=True, check=False)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        yield point
    finally:
        subprocess.run(["umount", "-l", str(point)], check=False)


def test_out_on_a_mount_point_is_refused_at_start(mount_point: Path) -> None:
    line = user_error(invoke("generate", *SMALL, "--out", str(mount_point)))
    assert "mount point" in line and str(mount_point / "run") in line
    assert list(mount_point.iterdir()) == []
    assert sorted(p.name for p in mount_point.parent.iterdir()) == ["mnt"]
    generate(mount_point / "run")  # a folder inside it works
    assert (mount_point / "run" / "manifest.json").is_file()


@pytest.mark.parametrize("target", [".", "", "..", "../.."])
def test_out_never_replaces_the_current_folder_or_one_holding_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, target: str
) -> None:
    out = tmp_path / "d"
    generate(out)
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    here = out / "performance" if target == "../.." else out / "ground_truth" if target == ".." \
        else out
    monkeypatch.chdir(here)
    line = user_error(invoke("generate", *SMALL, "--out", target, "--overwrite"))
    assert "current folder" in line
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before


# --- item 5 (and 9): load refuses a folder that is not what its manifest says -----------------


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One small run per format, never changed (tests copy them)."""
    root = tmp_path_factory.mktemp("runs")
    for fmt in ("parquet", "csv"):
        invoke_json("generate", *SMALL, "--out", str(root / fmt), "--format", fmt)
    return {"parquet": root / "parquet", "csv": root / "csv"}


def copy_of(runs: dict[str, Path], fmt: str, tmp_path: Path) -> Path:
    return Path(shutil.copytree(runs[fmt], tmp_path / fmt))


def refused_load(folder: Path, tmp_path: Path) -> str:
    """Load `folder` into a new SQLite file: the one-line error; asserts nothing was loaded."""
    db = tmp_path / "x.db"
    line = user_error(invoke("--db", sqlite_url(db), "load", str(folder)))
    assert not db.exists() or sum(counts(sqlite_url(db)).values()) == 0
    return line


def test_load_refuses_missing_part_files(runs: dict[str, Path], tmp_path: Path) -> None:
    folder = copy_of(runs, "parquet", tmp_path)
    parts = sorted((folder / "performance").rglob("part-*.parquet"))
    for part in parts[:2]:
        part.unlink()
    line = refused_load(folder, tmp_path)
    assert "missing" in line and parts[0].relative_to(folder).as_posix() in line


def test_load_refuses_a_part_file_of_another_size(runs: dict[str, Path], tmp_path: Path) -> None:
    folder = copy_of(runs, "parquet", tmp_path)
    part = next((folder / "ground_truth").iterdir())
    part.write_bytes(part.read_bytes()[:-10])
    assert f"ground_truth/{part.name}" in refused_load(folder, tmp_path)


def test_load_refuses_corrupt_parquet(runs: dict[str, Path], tmp_path: Path) -> None:
    folder = copy_of(runs, "parquet", tmp_path)
    part = sorted((folder / "performance").rglob("part-*.parquet"))[-1]
    data = bytearray(part.read_bytes())
    data[4:68] = bytes(64)  # same size, the first page's header broken (after b"PAR1")
    part.write_bytes(bytes(data))
    footer = folder / "campaigns.parquet"
    data = bytearray(footer.read_bytes())
    data[-12:-4] = bytes(8)  # the footer's length and metadata
    footer.write_bytes(bytes(data))
    assert "campaigns.parquet" in refused_load(folder, tmp_path)
    footer.write_bytes(runs["parquet"].joinpath("campaigns.parquet").read_bytes())
    assert part.name in refused_load(folder, tmp_path)


def test_load_refuses_a_bad_csv_value(runs: dict[str, Path], tmp_path: Path) -> None:
    folder = copy_of(runs, "csv", tmp_path)
    part = sorted((folder / "performance").rglob("part-*.csv"))[-1]
    lines = part.read_text().splitlines(keepends=True)
    row = lines[-1].split(",")
    column = lines[0].split(",").index('"impressions"')
    row[column] = "x" * len(row[column])  # same size
    part.write_text("".join([*lines[:-1], ",".join(row)]))
    assert part.name in refused_load(folder, tmp_path)


def test_load_refuses_a_manifest_whose_format_is_not_its_files(
    runs: dict[str, Path], tmp_path: Path
) -> None:
    folder = copy_of(runs, "parquet", tmp_path)
    manifest = folder / "manifest.json"
    manifest.write_text(manifest.read_text().replace('"format": "parquet"', '"format": "csv"'))
    assert "format" in refused_load(folder, tmp_path)


def test_load_reports_progress_in_rows(runs: dict[str, Path], tmp_path: Path) -> None:
    seen: list[tuple[str, int, int]] = []
    loaded = files.load_files(runs["parquet"], db=sqlite_url(tmp_path / "x.db"),
                              progress=lambda *a: seen.append(a))
    rows = [s for s in seen if s[0] == files.LOADING_STAGE]
    total = sum(Manifest.read(runs["parquet"]).tables[t].rows for t in loaded.tables)
    assert rows[0][1:] == (0, total) and rows[-1][1:] == (total, total) and len(rows) > 3
    assert [r[1] for r in rows] == sorted(r[1] for r in rows)
    assert loaded.rows == total and loaded.matches_manifest
    cli = invoke("--db", sqlite_url(tmp_path / "y.db"), "load", str(runs["parquet"]))
    assert cli.exit_code == 0, cli.stderr
    assert "loading rows" in cli.stderr and f"{total}/{total}" in cli.stderr


def test_a_run_the_disk_cannot_hold_is_refused_before_writing(mount_point: Path) -> None:
    """16 MB of tmpfs; 300 line items over 90 days are about 24 MB of Parquet (item 10)."""
    line = user_error(invoke("generate", "--line-items", "300", "--days", "90", "--out",
                             str(mount_point / "run")))
    assert "of disk" in line and "free" in line
    assert list(mount_point.iterdir()) == []
