"""`adsgen serve` as a user starts it: a real uvicorn process on loopback, and its refusals."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine

from adsgen.cli.serve import is_loopback
from apiutil import generated
from cliutil import invoke
from serveutil import serving


def test_a_running_server_answers_the_api_and_the_dashboard(pg_engine: Engine) -> None:
    """On PostgreSQL, given a URL with a password: it never shows in the server's output."""
    generated(pg_engine)
    secret = "Sup3rSecretPw"
    url = pg_engine.url.set(password=secret).render_as_string(hide_password=False)
    with serving(url) as (base, process):
        advertisers = httpx.get(f"{base}/api/v1/advertisers", params={"limit": 2}).json()
        assert len(advertisers["items"]) == 2 and advertisers["next_cursor"]
        report = httpx.get(f"{base}/api/v1/reports/delivery",
                           params={"dimension": "device", "metric": "impressions"}).json()
        assert {row["device"] for row in report["rows"]} >= {"ctv"}
        page = httpx.get(f"{base}/")
        assert page.status_code == 200 and "<html" in page.text.lower()
        assert httpx.get(f"{base}/openapi.json").json()["openapi"].startswith("3.1")
        process.terminate()
        out, err = process.communicate(timeout=10)
    assert secret not in out + err
    assert "serving postgresql+psycopg://postgres:***@" in err


def test_serve_on_sqlite_writes_through_the_running_server(tmp_path: Path) -> None:
    from adsgen.storage.database import make_engine

    engine = make_engine(f"sqlite:///{tmp_path / 'ads.db'}")
    url = generated(engine)
    with serving(url) as (base, _):
        created = httpx.post(f"{base}/api/v1/advertisers", json={
            "name": "Served Brand", "industry": "retail", "domain": "served.example"})
        assert created.status_code == 201, created.text
        listed = httpx.get(f"{base}/api/v1/advertisers", params={"name": "served"}).json()
        assert [a["id"] for a in listed["items"]] == [created.json()["id"]]
        rebound = httpx.get(f"{base}/api/v1/advertisers", headers={"Host": "evil.example"})
        assert rebound.status_code == 400  # DNS rebinding: only loopback names answer
        assert httpx.get(f"{base.replace('127.0.0.1', 'localhost')}/").status_code == 200


@pytest.mark.parametrize("host", ["0.0.0.0", "192.0.2.10", "::"])
def test_serve_beyond_loopback_needs_a_token(tmp_path: Path, host: str) -> None:
    result = invoke("serve", "--db", f"sqlite:///{tmp_path / 'ads.db'}", "--host", host,
                    env={"ADSGEN_API_TOKEN": ""})
    assert result.exit_code == 2
    assert "ADSGEN_API_TOKEN" in result.stderr and result.stdout == ""
    assert not (tmp_path / "ads.db").exists()  # refused before anything was opened


def test_a_short_token_is_refused(tmp_path: Path) -> None:
    result = invoke("serve", "--db", f"sqlite:///{tmp_path / 'ads.db'}",
                    env={"ADSGEN_API_TOKEN": "short"})
    assert result.exit_code == 2 and "at least 16" in result.stderr


def test_loopback_addresses() -> None:
    assert all(map(is_loopback, ["127.0.0.1", "127.1.2.3", "::1", "[::1]", "localhost"]))
    assert not any(map(is_loopback, ["0.0.0.0", "::", "10.0.0.1", "example.com"]))


def _readme_serve_section() -> str:
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    start = readme.index("### `adsgen serve`")
    end = readme.index("\n## ", start)
    return readme[start:end]


def test_the_readme_curl_examples_run_as_written(tmp_path: Path) -> None:
    """Each curl of the README's `adsgen serve` section, in README order, against a server on
    the database `adsgen run-all` makes (only the port differs): a ```sh block's curls answer
    JSON that is no problem; a ```text block's `$ curl` prints exactly what it shows."""
    import json
    import re
    import subprocess

    from adsgen.storage.database import make_engine

    section = _readme_serve_section()
    steps: list[tuple[str, str | None]] = []
    for lang, body in re.findall(r"```(sh|text)\n(.*?)```", section, re.S):
        if lang == "sh":
            steps += [(line, None) for line in body.splitlines() if line.startswith("curl ")]
        elif shown := re.fullmatch(r"\$ (curl .*?)\n(.*?)\n", body, re.S):
            steps.append((shown.group(1), shown.group(2)))
    assert len(steps) >= 10 and sum(out is not None for _, out in steps) >= 3
    url = generated(make_engine(f"sqlite:///{tmp_path / 'ads.db'}"))
    with serving(url) as (base, _):
        port = base.rsplit(":", 1)[1]
        for command, expected in steps:
            run = subprocess.run(["bash", "-c", command.replace(":8000", f":{port}")],
                                 capture_output=True, text=True, timeout=120, check=False)
            assert run.returncode == 0, (command, run.stderr)
            if expected is not None:
                assert run.stdout in (expected, expected + "\n"), (command, run.stdout)
                continue
            answer = json.loads(run.stdout)
            for item in answer if isinstance(answer, list) else [answer]:
                assert "type" not in item or item.get("status", 200) < 400, (command, item)
