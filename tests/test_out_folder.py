"""What `--out`, `--overwrite` and `load` promise (issue 9): `--overwrite` replaces only what
adsgen recorded in the previous manifest, a run holds a lock on its target and never
replaces a folder changed under it, and `load` refuses a folder that is not what its
manifest says.

Small runs: 3 line items over 2 days, seconds each.
"""

from __future__ import annotations

from pathlib import Path

from adsgen.runs.manifest import Manifest
from cliutil import invoke, invoke_json, user_error

SMALL = ("--line-items", "3", "--days", "2", "--seed", "7")


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
