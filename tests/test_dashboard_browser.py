"""The dashboard in a real browser: headless Debian Chromium driven by Playwright, against a
running `adsgen serve` on a generated database.

It loads with every panel drawn from data (the platform mix on the default dataset's several
platforms, the geo table from its weekly geo split, both adding up to the totals), a filter
redraws the panels, no console error,
a phone-sized screen shows it without sideways scrolling; screenshots go to
ADSGEN_TEST_ARTIFACTS (default build/test-artifacts/); the first contentful paint and the
time to every panel drawn are printed and bounded.
Chromium comes from Debian (`make browser-deps`); Playwright never downloads a browser.
Without /usr/bin/chromium the test is skipped, except under CI, where it fails.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from apiutil import generated
from serveutil import serving

CHROMIUM = Path(os.environ.get("ADSGEN_CHROMIUM", "/usr/bin/chromium"))
FLAGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
         "--disable-dev-shm-usage"]
CHARTS = ("overview", "daily", "pacing", "heatmap", "funnel", "frequency", "reach", "devices",
          "platforms", "truth-rates", "truth-conversions")
PAINT_BOUND_MS = 4000
"""Most a first contentful paint may take: twice the issue's 2 s, for a loaded machine."""
DRAWN_BOUND_MS = 15_000
"""Most the dashboard may take from navigation to every panel drawn with data."""
ARTIFACTS = Path(os.environ.get("ADSGEN_TEST_ARTIFACTS", "build/test-artifacts"))


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        message = f"no Chromium at {CHROMIUM}; run `make browser-deps`"
        if os.environ.get("CI"):
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    playwright_api = pytest.importorskip("playwright.sync_api")
    with playwright_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The default dataset (run-all, seed 42: line items on several platforms)."""
    from adsgen.storage.database import make_engine

    folder = tmp_path_factory.mktemp("dashboard")
    return generated(make_engine(f"sqlite:///{folder / 'ads.db'}"))


@pytest.fixture(scope="module")
def server(database: str) -> Iterator[str]:
    with serving(database) as (base, _):
        yield base


def _open(browser: Any, base: str, **context: Any) -> tuple[Any, list[str]]:
    page = browser.new_page(**context)
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("requestfailed", lambda r: errors.append(f"request failed: {r.url}"))
    page.goto(f"{base}/")
    page.wait_for_function("window.adsgen && window.adsgen.ready", timeout=30_000)
    return page, errors


def _points(page: Any) -> dict[str, int]:
    """Data points each chart drew, read from the ECharts instances themselves."""
    counted: dict[str, int] = page.evaluate("""() => Object.fromEntries(
        Array.from(document.querySelectorAll('.chart')).map(el => {
          const chart = echarts.getInstanceByDom(el);
          const series = chart ? chart.getOption().series : [];
          return [el.id.replace('chart-', ''),
                  series.reduce((n, s) => n + (s.data || []).length, 0)];
        }))""")
    return counted


def _kpi_impressions(page: Any) -> int:
    return int(page.inner_text("#kpis .kpi b").replace(",", ""))


def _platforms(page: Any) -> dict[str, int]:
    """The platform mix as drawn: platform → impressions."""
    option = page.evaluate("(() => { const o = echarts.getInstanceByDom(document.getElementById("
                           "'chart-platforms')).getOption(); return [o.yAxis[0].data, "
                           "o.series[0].data]; })()")
    return dict(zip(option[0], option[1], strict=True))


def _geos(page: Any) -> dict[str, int]:
    """The geo table as shown: geo → impressions."""
    cells = page.eval_on_selector_all(
        "#geo-table tbody tr", "rows => rows.map(r => [r.cells[0].textContent, "
                               "r.cells[1].textContent])")
    return {geo: int(shown.replace(",", "")) for geo, shown in cells}


def _delivered(database: str, sql: str, **bound: Any) -> dict[str, int]:
    """name → impressions, straight from the database (the panels' numbers, checked)."""
    from sqlalchemy import text

    from adsgen.storage.database import make_engine

    engine = make_engine(database)
    try:
        with engine.connect() as conn:
            return {str(k): int(v) for k, v in conn.execute(text(sql), bound).all()}
    finally:
        engine.dispose()


_BY_PLATFORM = ("SELECT li.platform, SUM(p.impressions) FROM performance p JOIN line_items li "
                "ON li.id = p.line_item_id JOIN campaigns c ON c.id = li.campaign_id "
                "WHERE (:advertiser IS NULL OR c.advertiser_id = :advertiser) "
                "GROUP BY li.platform")
_BY_GEO = ("SELECT geo, SUM(ctv_impressions + desktop_impressions + mobile_impressions) FROM mmm "
           "WHERE (:advertiser IS NULL OR advertiser_id = :advertiser) AND week >= :start "
           "AND week <= :last_week GROUP BY geo")


def test_dashboard_draws_every_panel_and_filters(browser: Any, server: str,
                                                 database: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page, errors = _open(browser, server, viewport={"width": 1280, "height": 2400})
    paint = page.evaluate(
        "performance.getEntriesByName('first-contentful-paint').map(e => e.startTime)[0]")
    ready = page.evaluate("performance.now()")  # polled each frame: drawn a frame before
    print(f"\ndashboard: first contentful paint {paint:.0f} ms, every panel drawn by "
          f"{ready:.0f} ms after navigation (headless Chromium, 8 advertisers, 16,104 hourly "
          "rows)")
    # the issue asks a first paint under 2 s on this machine; the bounds leave room for a
    # machine busy with other suites (measured: 1.1 s and 2.6 s at a load average of 6)
    assert 0 < paint < PAINT_BOUND_MS, f"first contentful paint {paint:.0f} ms"
    assert paint <= ready < DRAWN_BOUND_MS, f"every panel drawn by {ready:.0f} ms"
    everything = _points(page)
    assert set(everything) == set(CHARTS)
    assert all(everything[name] > 0 for name in CHARTS), everything
    assert everything["heatmap"] == 7 * 24
    impressions = page.inner_text("#kpis .kpi b")
    # the platform mix: each line item's platform, several on the default dataset, adding up
    whole = _delivered(database, _BY_PLATFORM, advertiser=None)
    assert len(whole) > 1 and _platforms(page) == whole
    assert sum(whole.values()) == _kpi_impressions(page)
    # the geo table: the weekly geo split, whose geos add up to the totals
    every_week = {"start": "2000-01-03", "last_week": "2100-01-04"}
    geos = _delivered(database, _BY_GEO, advertiser=None, **every_week)
    assert len(geos) > 1 and _geos(page) == geos
    assert sum(geos.values()) == _kpi_impressions(page)
    assert "geo split" in page.inner_text("#geo-note")
    page.screenshot(path=str(ARTIFACTS / "dashboard-desktop.png"), full_page=True)

    campaigns = page.eval_on_selector_all("#campaign option", "o => o.length")
    page.select_option("#advertiser", "2")
    page.wait_for_function("window.adsgen.ready && window.adsgen.loads === 2")
    page.wait_for_function("document.querySelectorAll('#campaign option').length < "
                           f"{campaigns}")
    filtered = _points(page)
    assert page.inner_text("#kpis .kpi b") != impressions
    assert filtered["overview"] < everything["overview"]
    assert filtered["devices"] <= everything["devices"]
    assert _platforms(page) == _delivered(database, _BY_PLATFORM, advertiser=2)
    one = _delivered(database, _BY_GEO, advertiser=2, **every_week)
    assert one and _geos(page) == one and sum(one.values()) == _kpi_impressions(page)
    page.fill("#start", "2026-09-05")  # fires `change`, as a person picking the date does
    page.wait_for_function("window.adsgen.ready && window.adsgen.loads === 3")
    days = page.evaluate("echarts.getInstanceByDom(document.getElementById('chart-daily'))"
                         ".getOption().xAxis[0].data")
    assert days and min(days) == "2026-09-05"
    # the geo split is weekly: the dates widen to whole ISO weeks, and the panel says so
    assert "whole ISO weeks, 2026-08-31 to last" in page.inner_text("#geo-note")
    page.fill("#end", "2026-09-13")  # a Sunday: two of the flight's three weeks
    page.wait_for_function("window.adsgen.ready && window.adsgen.loads === 4")
    weeks = _delivered(database, _BY_GEO, advertiser=2, start="2026-08-31",
                       last_week="2026-09-07")
    assert _geos(page) == weeks and sum(weeks.values()) < sum(one.values())
    campaign = page.eval_on_selector_all("#campaign option", "o => o[1].value")
    page.select_option("#campaign", campaign)  # the split is per advertiser: said, not refused
    page.wait_for_function("window.adsgen.ready && window.adsgen.loads === 5")
    assert _geos(page) == weeks
    assert "chosen campaign's advertiser" in page.inner_text("#geo-note")
    assert sum(_platforms(page).values()) == _kpi_impressions(page)
    page.screenshot(path=str(ARTIFACTS / "dashboard-filtered.png"), full_page=True)
    assert errors == []


def test_dashboard_fits_a_phone(browser: Any, server: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page, errors = _open(browser, server, viewport={"width": 390, "height": 844},
                         device_scale_factor=2, is_mobile=True, has_touch=True)
    width, inner = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert width <= inner  # no sideways scrolling
    assert all(n > 0 for n in _points(page).values())
    boxes = page.eval_on_selector_all(
        ".chart", "els => els.map(e => e.getBoundingClientRect().width)")
    assert all(0 < w <= 390 for w in boxes)
    assert len(_geos(page)) > 1
    table = page.eval_on_selector(".scroll", "e => e.getBoundingClientRect().width")
    assert 0 < table <= 390
    page.screenshot(path=str(ARTIFACTS / "dashboard-phone.png"), full_page=False)
    assert errors == []


def test_dashboard_follows_a_live_stream(browser: Any, tmp_path: Path) -> None:
    """An empty database, then `adsgen stream` syncing into it: the live feed pushes, the
    panels load again and the totals move, without a reload or a console error."""
    import subprocess

    from cliutil import ADSGEN, subprocess_env

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    url = f"sqlite:///{tmp_path / 'live.db'}"
    with serving(url) as (base, _):
        page, errors = _open(browser, base, viewport={"width": 1280, "height": 1600})
        page.wait_for_function("window.adsgen.live !== undefined")
        assert page.inner_text("#kpis .kpi b") == "0" and _points(page)["overview"] == 0
        assert _geos(page) == {} and "No delivery" in page.inner_text("#geo-note")
        loads = page.evaluate("window.adsgen.loads")
        stream = subprocess.run(
            [ADSGEN, "stream", "--to", url, "--line-items", "2", "--start", "2026-09-01",
             "--duration", "6h", "--speed", "max", "--quiet"],
            capture_output=True, text=True, timeout=300, env=subprocess_env(), check=False)
        assert stream.returncode == 0, stream.stderr
        # the panels reload on each push while the stream syncs: wait until they show what
        # the latest push says (a push can land between a reload's request and its answer)
        page.wait_for_function(
            "window.adsgen.ready && document.querySelector('#kpis .kpi b').textContent !== '0'"
            " && window.adsgen.live.rows > 0 && Number(document.querySelector('#kpis .kpi b')"
            ".textContent.replace(/,/g, '')) === window.adsgen.live.totals.reduce("
            "(sum, t) => sum + t.impressions, 0)", timeout=60_000)
        shown = int(page.inner_text("#kpis .kpi b").replace(",", ""))
        assert shown == sum(t["impressions"] for t in page.evaluate("window.adsgen.live.totals"))
        assert page.evaluate("window.adsgen.loads") > loads
        assert "Live" in page.inner_text("#live")
        assert _points(page)["overview"] > 0  # the stream's campaigns, now in the panel
        assert sum(_platforms(page).values()) == shown  # the stream's platform, live
        # a live sync writes hourly rows, never the weekly geo split: the panel says so
        assert _geos(page) == {} and "No geo rows" in page.inner_text("#geo-note")
        page.screenshot(path=str(ARTIFACTS / "dashboard-live.png"), full_page=False)
    assert errors == []
