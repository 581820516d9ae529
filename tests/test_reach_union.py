"""The reach table's `all` rows are numbers some set of households can have.

Per line item and UTC day, with U the `all` cumulative reach (households reached over all
devices from the flight start to the day's end), r_d / c_d each device's day reach and
cumulative reach, and n_d = c_d − c_d(previous day) the households new to device d that
day:

- max c_d ≤ U ≤ Σ c_d, U never falls, and U grows by at most Σ n_d in a day (a household
  new to the union that day is new to one of its devices that day);
- the day's `all` reach A lies between its lower bounds — the largest device's day reach,
  and the households new to the union that day plus any one device's households seen that
  day but reached before it (two disjoint sets) — and its upper bounds Σ r_d, the day's
  impressions and U.

The stream lays its household ids out so that each of these is met exactly
(`adsgen.stream.households`): an infeasible batch row would make that impossible.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc
from hypothesis import HealthCheck, given, settings

from adsgen.build.items import SimLineItem
from adsgen.simulate import simulate
from simfactory import platform, sim_items


def _check_all_rows(reach: pa.Table) -> int:
    """Assert the module's bounds on every line item × day; returns the days checked."""
    day_rows = reach.filter(pc.equal(reach["period"], "day")).to_pydict()
    cells: dict[tuple[int, object], dict[str, tuple[int, int, int]]] = {}
    for li, dev, day, imps, r, c in zip(day_rows["line_item_id"], day_rows["device"],
                                        day_rows["day"], day_rows["impressions"],
                                        day_rows["reach"], day_rows["cumulative_reach"],
                                        strict=True):
        cells.setdefault((li, day), {})[dev] = (imps, r, c)
    previous: dict[tuple[int, str], int] = {}
    checked = 0
    for (li, _), by_device in sorted(cells.items(), key=lambda kv: (kv[0][0], kv[0][1])):
        imps_all, a, u = by_device.pop("all")
        new = {d: c - previous.get((li, d), 0) for d, (_, _, c) in by_device.items()}
        u_before = previous.get((li, "all"), 0)
        cums = [c for _, _, c in by_device.values()]
        reaches = [r for _, r, _ in by_device.values()]
        assert max(cums) <= u <= sum(cums), (li, by_device, u)
        assert u_before <= u <= u_before + sum(new.values()), (li, by_device, u_before, u)
        seen_before = max(r - new[d] for d, (_, r, _) in by_device.items())
        assert max(max(reaches), u - u_before + seen_before) <= a, (li, by_device, a, u)
        assert a <= min(sum(reaches), imps_all, u), (li, by_device, a, u)
        previous.update({(li, d): c for d, (_, _, c) in by_device.items()})
        previous[(li, "all")] = u
        checked += 1
    return checked


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(items=sim_items(max_items=4, max_days=10))
def test_all_rows_are_feasible_on_random_plans(items: list[SimLineItem]) -> None:
    result = simulate(items, platform=platform(), seed=3)
    reach = result["reach"]
    days = _check_all_rows(reach)
    assert days or not reach.num_rows
