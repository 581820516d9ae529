"""Plans for scale runs (`adsgen generate`, `adsgen plan`), drawn in columns.

A scale run holds thousands of advertisers, so its plan is drawn the NumPy way: every
field of every advertiser, campaign, line item and creative is a column drawn in one pass
by keyed hashes (`adsgen.seeding.entity_keys`), keyed by (seed, stream, entity index) —
advertiser i, its line item j, that line item's creative k — never by a generator walked in
order. Names and words come from the pre-built pools of `adsgen.build.pools` (the Faker
providers' data, without Faker), and validation runs in bulk over the columns
(`adsgen.build.scale_checks.check_plan`: the rules the Pydantic schemas enforce). No
Pydantic object per entity is made; what comes out is the entity tables (Arrow) and the
`SimLineItem`s the simulation reads.

The plan follows the profiles: advertiser i takes a profile drawn by weight; what the
profile fixes is kept, the mixes of the providers draw the rest (industry, objective,
budget, pacing, targeting, CPM, caps, creatives). On several platforms (a `PlatformSet`),
each line item buys on one of them: its campaign's platforms (its profile's among the
run's, else the run's) taken in turn from one drawn per advertiser, so a campaign of k line
items spreads over min(k, platforms) of them and the run's line items split about evenly;
each line item is then drawn on its own platform (devices, genres, geos, keys it sells, CPM
range, creative rules). On one platform nothing of this is drawn: the plan is as before.
Every campaign and line item runs on the one flight [start, start + days). A campaign's
budget is a daily spend times `days` (or the profile's budget range for its own flight
length, scaled by days / that length), so daily spend stays the same whatever `days`; line
items split it by share, rounded down to the cent. Deterministic: the same seed and profiles
give the same plan, and the first k advertisers of a larger run are a run of k.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from adsgen.build import pools
from adsgen.build.keyed_draws import Draws, fixed_or, index_of, unique_within
from adsgen.build.platform_set import PlatformSet, platform_set
from adsgen.build.pools import DEFAULT_START, slugify
from adsgen.build.scale_checks import check_plan
from adsgen.build.scale_platforms import (
    buying,
    cut,
    item_platforms,
    per_platform,
    sets_per_platform,
)
from adsgen.build.scale_tables import (
    DEVICES,
    DSPS,
    FORMATS,
    GENRES,
    INDUSTRIES,
    MICROS_PER_CENT,
    MIMES,
    OBJECTIVES,
    PACING_PERIODS,
    PACING_TYPES,
    POSITIONS,
    PPM,
    Columns,
    ProfileSlots,
    _code,
    campaign_zones,
    row_groups,
    sim_items,
    tables,
)
from adsgen.domain.enums import (
    AdFormat,
    Currency,
    DeviceType,
    ExperimentType,
    PacingPeriod,
    PacingType,
    TargetingKey,
)
from adsgen.domain.experiment import MIN_CONTROL_IMPRESSIONS, control_size_problem
from adsgen.domain.fields import MAX_AMOUNT, MAX_FLIGHT_DAYS, check_flight_start, to_utc_naive
from adsgen.domain.markets import segment_cpm_factor
from adsgen.exceptions import AdsgenError, SpecError
from adsgen.seeding import rehash
from adsgen.templates.platform_rules import fit_mime_mix, fit_mix

if TYPE_CHECKING:
    import pyarrow as pa

    from adsgen.build.items import SimLineItem
    from adsgen.domain.schemas import FlightSchema
    from adsgen.templates.spec import Platform, Profile, ProfileLineItem

__all__ = [
    "DEFAULT_SCALE_DAYS",
    "DEFAULT_SCALE_START",
    "ScaledPlan",
    "build_scaled",
    "scaled_flight",
]

DEFAULT_SCALE_DAYS = 30
"""Flight length of a scale run when none is given."""
DEFAULT_SCALE_START = DEFAULT_START
"""First hour of a scale run's flight when none is given (2026-09-01 00:00 UTC)."""

I64 = NDArray[np.int64]
F64 = NDArray[np.float64]
_MAX_LINE_ITEMS = 64  # per campaign (profiles allow 50): line item key = advertiser × 64 + j
_MAX_CREATIVES = 32  # per line item (profiles allow 20)
_MAX_CENTS = int(MAX_AMOUNT * 100)


@dataclass
class ScaledPlan:
    """A numbered scale plan: entity tables (Arrow, the ORM's column names) and the
    simulation's line items, ids 1, 2, 3 … in tree order."""

    tables: dict[str, pa.Table] = field(default_factory=dict)
    items: list[SimLineItem] = field(default_factory=list)

    def arrow_tables(self) -> dict[str, pa.Table]:
        """Each entity table (empty ones left out)."""
        return {name: table for name, table in self.tables.items() if table.num_rows}

    def counts(self) -> dict[str, int]:
        """Rows per entity table."""
        return {name: table.num_rows for name, table in self.tables.items()}


def scaled_flight(start: datetime, days: int) -> FlightSchema:
    """The flight [start, start + days) of a scale run; AdsgenError naming the option when
    `days` is out of 1..366 or `start` is not a whole UTC hour from FIRST_START to LAST_START."""
    from adsgen.domain.schemas import FlightSchema

    if not 1 <= days <= MAX_FLIGHT_DAYS:
        raise AdsgenError(f"--days must be between 1 and {MAX_FLIGHT_DAYS}, got {days}")
    try:
        first = check_flight_start(to_utc_naive(start))
    except (ValueError, OverflowError) as error:
        raise AdsgenError(f"--start: {error}") from None
    if (first.minute, first.second, first.microsecond) != (0, 0, 0):
        raise AdsgenError(
            f"--start must be a date or a whole UTC hour (e.g. {first:%Y-%m-%dT%H}:00), "
            f"got {first.isoformat()}"
        )
    return FlightSchema(start=first, end=first + timedelta(days=days))


# --- the plan ----------------------------------------------------------------------------


def build_scaled(
    *,
    seed: int,
    platform: Platform | PlatformSet,
    advertisers: int | None = None,
    line_items: int | None = None,
    days: int = DEFAULT_SCALE_DAYS,
    start: datetime = DEFAULT_SCALE_START,
    profiles: Sequence[Profile] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> ScaledPlan:
    """`advertisers` advertisers, or advertisers holding exactly `line_items` line items.

    `platform`: one platform, or the run's platforms (each line item buys on one of them:
    see the module docstring). Give exactly one of the two counts. With `line_items`, the
    last advertiser keeps only the line items needed (its campaign budget shrinks by the
    share of the budgets it drops, rounded up to the cent). `profiles` defaults to the
    bundled ones. `progress(done, wanted)` hears of the start and the end. Raises
    AdsgenError for counts below 1, both or neither count, or a bad flight (see
    `scaled_flight`); ValueError when profiles fix values that cannot hold together (a
    budget too small to split between line items).
    """
    if (advertisers is None) == (line_items is None):
        raise AdsgenError("give either --advertisers N or --line-items N (not both)")
    wanted = advertisers if advertisers is not None else line_items
    if wanted is None or wanted < 1:
        option = "--advertisers" if advertisers is not None else "--line-items"
        raise AdsgenError(f"{option} must be at least 1, got {wanted}")
    flight = scaled_flight(start, days)
    if profiles is None:
        from adsgen.templates.catalog import profiles as bundled_profiles

        profiles = bundled_profiles()
    if not profiles:
        raise ValueError("a scale plan needs at least one profile")
    plats = platform_set(platform)
    chosen = buying(profiles, plats)
    for each, codes in zip(profiles, chosen, strict=True):
        for code in codes:
            plats.platforms[code].check_profile(each)
        if each.currency is not Currency.USD:
            raise SpecError(
                f"{each.currency}: scale runs plan in USD only for now; use a USD profile "
                "or create its advertisers with `adsgen create-profile`",
                where=f"profile {each.name}: currency",
            )
    if progress is not None:
        progress(0, wanted)
    prof = ProfileSlots.of(profiles)
    # Every advertiser holds at least one line item: `wanted` advertisers always suffice.
    index = np.arange(wanted, dtype=np.int64)
    draws = Draws(seed, "advertiser", index)
    profile = draws.pick(0, _profile_weights(prof, plats, chosen))
    count = np.where(prof.listed[profile] > 0, prof.listed[profile], prof.fixed_count[profile])
    drawn_count = np.array(list(pools.LINE_ITEM_COUNT), dtype=np.int64)[
        draws.pick(1, list(pools.LINE_ITEM_COUNT.values()))]
    count = np.where(count > 0, count, drawn_count)
    n_adv = wanted
    keep_last = int(count[-1])
    if line_items is not None:
        n_adv = int(np.searchsorted(np.cumsum(count), line_items)) + 1
        keep_last = line_items - int(count[: n_adv - 1].sum())
    cols = Columns(seed=seed, days=days, flight=flight, platforms=plats.platforms, prof=prof)
    _campaigns(cols, index[:n_adv], profile[:n_adv], count[:n_adv])
    _line_items(cols, keep_last, chosen)
    campaign_zones(cols)
    _creatives(cols)
    check_plan(cols)
    _check_control_groups(cols)
    plan = ScaledPlan(tables=tables(cols), items=sim_items(cols))
    if progress is not None:
        progress(n_adv if advertisers is not None else len(plan.items), wanted)
    return plan


def _check_control_groups(cols: Columns) -> None:
    """SpecError naming the profile when a holdout or PSA line item is too small to hold its
    control group (`adsgen.domain.experiment.control_size_problem`), checked on the columns:
    the first such line item's problem."""
    slots = cols.prof.slots
    share = np.array([s.experiment.control_share if s.experiment is not None
                      and s.experiment.type is not ExperimentType.geo else 0.0
                      for s in slots], dtype=np.float64)[cols.li_slot]
    impressions = cols.li_amount * 1000 // np.maximum(cols.li_cpm, 1)
    small = np.flatnonzero((share > 0) & (share * impressions < MIN_CONTROL_IMPRESSIONS))
    if small.size:
        first = int(small[0])
        problem = control_size_problem(
            slots[int(cols.li_slot[first])].experiment,
            budget_micros=int(cols.li_amount[first]) * MICROS_PER_CENT,
            cpm_micros=int(cols.li_cpm[first]) * MICROS_PER_CENT)
        owner = cols.prof.profiles[int(cols.profile[int(cols.li_adv[first])])].name
        raise SpecError(f"{problem} ({small.size} line items)", where=f"profile {owner}")


def _campaigns(cols: Columns, index: I64, profile: I64, count: I64) -> None:
    """Advertiser and campaign columns (one campaign per advertiser)."""
    prof = cols.prof
    u = Draws(cols.seed, "advertiser", index)
    cols.adv_index, cols.profile, cols.count = index, profile, count
    cols.industry = fixed_or(prof.industry[profile],
                             u.pick_from(2, pools.INDUSTRY_MIX, INDUSTRIES))
    cols.objective = fixed_or(prof.objective[profile],
                              u.pick_from(3, pools.OBJECTIVE_MIX, OBJECTIVES))
    cols.dsp = fixed_or(prof.dsp[profile], u.pick_from(4, pools.DSP_MIX, DSPS))
    pairs = list(pools.PACING_MIX)
    pair = u.pick(5, list(pools.PACING_MIX.values()))
    fixed_type, fixed_period = prof.pacing_type[profile], prof.pacing_period[profile]
    ptype = fixed_or(fixed_type, index_of([p[0] for p in pairs], PACING_TYPES)[pair])
    period = fixed_or(fixed_period, index_of([p[1] for p in pairs], PACING_PERIODS)[pair])
    asap, even = PACING_TYPES.index(PacingType.asap), PACING_TYPES.index(PacingType.even)
    flight_p, daily_p = (PACING_PERIODS.index(PacingPeriod.flight),
                         PACING_PERIODS.index(PacingPeriod.daily))
    clash = (ptype == asap) & (period == flight_p)
    period = np.where(clash & (fixed_type == asap), daily_p, period)
    ptype = np.where(clash & (fixed_type != asap), even, ptype)
    cols.pacing_type, cols.pacing_period = ptype, period
    # Budget: for the profile's (or a drawn) flight length, then scaled to `days`.
    lengths = np.array(list(pools.FLIGHT_DAYS), dtype=np.int64)
    base_days = np.where(prof.flight_days[profile] > 0, prof.flight_days[profile],
                         lengths[u.pick(6, list(pools.FLIGHT_DAYS.values()))])
    step = int(pools.BUDGET_STEP * 100)
    low, high = prof.budget_low[profile], prof.budget_high[profile]
    ranged = u.between(7, low, high, np.where(high - low >= step, step, 1))
    spend = np.array([pools.DAILY_SPEND[o] for o in OBJECTIVES], dtype=np.float64)
    lo, hi = spend[cols.objective, 0], spend[cols.objective, 1]
    daily = lo + (hi - lo) * u.u(7)
    drawn = np.maximum(np.rint(daily * base_days * 100 / step) * step, step).astype(np.int64)
    base = np.where(low >= 0, ranged, drawn)
    amount = np.minimum(base * cols.days // base_days, _MAX_CENTS)
    cols.amount = np.maximum(amount, 1)
    cols.cap = np.where(period == daily_p, _daily_cap(cols.amount, cols.days, u.u(10)), -1)
    seasons, words = pools.SEASONS, pools.OBJECTIVE_WORDS
    season = np.minimum((u.u(8) * len(seasons)).astype(np.int64), len(seasons) - 1)
    cols.campaign_name = [
        f"{seasons[s]} {(w := words[OBJECTIVES[o]])[min(int(x * len(w)), len(w) - 1)]}"
        for s, o, x in zip(season.tolist(), cols.objective.tolist(), u.u(9).tolist(), strict=True)
    ]
    cols.name = _brand_names(cols.seed, cols.industry, index)
    cols.domain = [f"{slugify(name)}.example" for name in cols.name]


def _daily_cap(amount: I64, days: int, u: F64) -> I64:
    """Daily caps in cents: DAILY_CAP_FACTOR (drawn by `u` in its range) times the average
    daily spend, from a cent up to `amount` (as `BudgetProvider.daily_cap`)."""
    low, high = (float(f) for f in pools.DAILY_CAP_FACTOR)
    cap = np.rint(amount * (low + (high - low) * u) / days).astype(np.int64)
    return np.clip(cap, 1, amount)


def _brand_names(seed: int, industry: I64, index: I64) -> list[str]:
    """The advertiser names of `AdvertiserProvider.indexed_name`, for many indices at once:
    distinct for distinct indices of a run."""
    from adsgen.seeding import rng

    stems = pools.STEMS
    names: list[str] = [""] * index.size
    positions = {}
    for code in np.unique(industry).tolist():
        words = pools.INDUSTRY_WORDS[INDUSTRIES[code]]
        size = len(stems) * len(words)
        if size not in positions:
            step_rng = rng(seed, "advertiser-names")
            step = int(step_rng.integers(1, size))
            while np.gcd(step, size) != 1:
                step += 1
            positions[size] = (step, int(step_rng.integers(size)))
        step, offset = positions[size]
        rows = np.flatnonzero(industry == code)
        cycle, position = np.divmod(index[rows], size)
        slot = (step * position + offset) % size
        for row, s, c in zip(rows.tolist(), slot.tolist(), cycle.tolist(), strict=True):
            name = f"{stems[s // len(words)]} {words[s % len(words)]}"
            names[row] = f"{name} {c + 1}" if c else name
    return names


def _line_items(cols: Columns, keep_last: int, chosen: list[list[int]]) -> None:
    """Line-item columns: platform, budget shares, targeting, CPM, caps, position, format,
    names; each line item drawn on its own platform."""
    prof = cols.prof
    count = cols.count
    adv = np.repeat(np.arange(count.size, dtype=np.int64), count)
    before = np.concatenate([[0], np.cumsum(count)[:-1]]).astype(np.int64)
    position = np.arange(adv.size, dtype=np.int64) - before[adv]
    profile = cols.profile[adv]
    listed = prof.listed[profile] > 0
    slot = prof.first_slot[profile] + np.where(listed, position, 0)
    share = np.where(listed, prof.slot_share_ppm[slot], PPM // count[adv])
    amount = cols.amount[adv] * share // PPM
    cap = np.where(cols.cap[adv] >= 0, cols.cap[adv] * share // PPM, -1)
    keep = ~((adv == count.size - 1) & (position >= keep_last))
    if not keep.all():  # the last advertiser keeps `keep_last`: its campaign shrinks too
        last = adv == count.size - 1
        every, kept = int(amount[last].sum()), int(amount[last & keep].sum())
        whole = int(cols.amount[-1])
        shrunk = min(max(-(-whole * kept // every), kept), whole)
        cols.amount[-1] = shrunk
        if cols.cap[-1] >= 0:
            cols.cap[-1] = min(int(cols.cap[-1]), shrunk)
        cols.count[-1] = keep_last
        adv, position, slot, amount, cap = (a[keep] for a in (adv, position, slot, amount, cap))
    cols.li_adv, cols.li_slot, cols.li_amount = adv, slot, amount
    cols.li_key = cols.adv_index[adv] * _MAX_LINE_ITEMS + position
    cols.li_platform = item_platforms(cols, adv, position, chosen)
    on = cols.li_platform
    u = Draws(cols.seed, "line_item", cols.li_key)
    # A daily cap: the campaign's share when it paces per day, else DAILY_CAP_RATE of the time.
    own = (cap < 0) & (u.u(9) < pools.DAILY_CAP_RATE)
    cols.li_cap = np.where(own, _daily_cap(amount, cols.days, u.u(11)), cap)
    settings = prof.slots
    objective = cols.objective[adv]
    # Targeting: a key a slot names is fixed, the others are drawn.
    fixed = [s.targeting.model_dump(include=s.targeting.model_fields_set) if s.targeting
             else {} for s in settings]
    for keys in fixed:  # DMAs and states are US markets: such a line item buys in the US
        if (keys.get("dma") or keys.get("state")) and "geo" not in keys:
            keys["geo"] = ["US"]

    def devices(platform: Platform) -> I64:
        set_weights = pools.device_sets(platform.device_mix)
        device_sets = np.full((len(set_weights), len(DEVICES)), -1, dtype=np.int64)
        for row, each in enumerate(set_weights):
            device_sets[row, : len(each)] = index_of(each, DEVICES)
        return _withfixed_or(device_sets[u.pick(0, list(set_weights.values()))],
                             slot, fixed, "device", DEVICES)

    cols.li_devices = cut(per_platform(cols, on, devices))
    counts = np.array(list(pools.GENRE_COUNT), dtype=np.int64)[
        u.pick(1, list(pools.GENRE_COUNT.values()))]
    cols.li_genres = cut(per_platform(cols, on, lambda platform: _withfixed_or(
        u.ordered_sample(20, [platform.genre_share.get(g, 0.0) for g in GENRES], counts),
        slot, fixed, "genre", GENRES)))

    def geos(platform: Platform) -> tuple[list[tuple[Any, ...]], I64]:
        markets = set(platform.geo_timezones)
        geo_mix = {g: w for g, w in pools.GEO_MIX.items() if markets.issuperset(g)} or {
            (platform.default_geo,): 1.0}
        return _sets(u.pick(2, list(geo_mix.values())), list(geo_mix), slot, fixed, "geo")

    cols.geo_sets, cols.li_geo = sets_per_platform(cols, geos)

    # A key the platform does not sell is left open, not drawn.
    def dayparts(platform: Platform) -> tuple[list[tuple[Any, ...]], I64]:
        sold = set(platform.sells.targeting_keys)
        mix = pools.DAYPART_MIX if TargetingKey.daypart in sold else {(): 1.0}
        return _sets(u.pick(3, list(mix.values())), list(mix), slot, fixed, "daypart")

    def ratings(platform: Platform) -> tuple[list[tuple[Any, ...]], I64]:
        sold = set(platform.sells.targeting_keys)
        mix = pools.MEDIA_RATING_MIX if TargetingKey.media_rating in sold else {(): 1.0}
        return _sets(u.pick(4, list(mix.values())), list(mix), slot, fixed, "media_rating")

    cols.daypart_sets, cols.li_daypart = sets_per_platform(cols, dayparts)
    cols.rating_sets, cols.li_rating = sets_per_platform(cols, ratings)
    # Frequency caps: the slot's (an explicit null = uncapped) or drawn by objective.
    cols.cap_sets = [None]
    mixes = {OBJECTIVES.index(o): mix for o, mix in pools.FREQUENCY_CAP_MIX.items()}
    for mix in mixes.values():
        for key in mix:
            cols.cap_index(key)
    drawn_cap = u.pick_by(5, objective, mixes, cols.cap_sets)
    slot_cap = np.array([cols.cap_index(_cap_key(s.frequency_cap))
                         if "frequency_cap" in s.model_fields_set else -1 for s in settings],
                        dtype=np.int64)
    cols.li_fcap = fixed_or(slot_cap[slot], drawn_cap)
    cols.campaign_fcap = np.array(
        [cols.cap_index(_cap_key(p.campaign_frequency_cap)) for p in prof.profiles],
        dtype=np.int64)[cols.profile]
    # CPM in cents: the slot's range in $0.50 steps, else the objective's band of the
    # platform's range, rounded to $0.50.
    ranges = [(int(s.cpm[0] * 100), int(s.cpm[1] * 100)) if s.cpm else (-1, -1)
              for s in settings]
    low = np.array([r[0] for r in ranges], dtype=np.int64)[slot]
    high = np.array([r[1] for r in ranges], dtype=np.int64)[slot]
    step = int(pools.CPM_STEP * 100)
    ranged = u.between(6, low, high, np.where(high - low >= step, step, 1))
    band = np.array([pools.CPM_BAND[o] for o in OBJECTIVES], dtype=np.float64)[objective]
    cpm_low = per_platform(cols, on, lambda p: np.full(on.size, p.cpm_range[0]))
    cpm_high = per_platform(cols, on, lambda p: np.full(on.size, p.cpm_range[1]))
    where = band[:, 0] + (band[:, 1] - band[:, 0]) * u.u(6)
    value = cpm_low + (cpm_high - cpm_low) * where
    # audience segments cost a data premium on a drawn CPM (a fixed CPM is what is paid)
    premium = np.array([segment_cpm_factor(s.targeting.segment if s.targeting else ())
                        for s in settings], dtype=np.float64)[slot]
    drawn = np.maximum(np.rint(value * premium * 100 / step) * step, step).astype(np.int64)
    cols.li_cpm = np.where(low >= 0, ranged, drawn)
    slot_position = np.array([_code(s.position, POSITIONS) for s in settings], dtype=np.int64)
    cols.li_position = fixed_or(slot_position[slot], index_of(list(pools.POSITION_MIX), POSITIONS)[
        u.pick(7, list(pools.POSITION_MIX.values()))])
    cols.li_format = np.array([FORMATS.index(_format(s)) for s in settings],
                              dtype=np.int64)[slot]
    slot_count = np.array([(s.creatives and s.creatives.count) or 0 for s in settings],
                          dtype=np.int64)
    drawn_count = np.array(list(pools.CREATIVE_COUNT), dtype=np.int64)[
        u.pick(8, list(pools.CREATIVE_COUNT.values()))]
    cols.li_creatives = np.where(slot_count[slot] > 0, slot_count[slot], drawn_count)
    rows, labels = row_groups(np.concatenate([cols.li_devices, cols.li_genres], axis=1))
    width = cols.li_devices.shape[1]
    label = [_label(row[:width], row[width:]) for row in rows]
    cols.li_name = unique_within(adv, [
        settings[s].name or label[r] for s, r in zip(slot.tolist(), labels, strict=True)
    ], " #")


def _format(settings: ProfileLineItem) -> AdFormat:
    spec = settings.creatives
    if spec is not None and spec.ad_format is not None:
        return spec.ad_format
    return AdFormat.interactive_video if spec is not None and spec.interactive else AdFormat.video


def _cap_key(cap: Any) -> pools.CapKey:
    return None if cap is None else (cap.max_impressions, cap.time_unit, cap.time_unit_count)


def _profile_weights(prof: ProfileSlots, plats: PlatformSet,
                     chosen: list[list[int]]) -> list[float]:
    """Each profile's weight: its own × `pools.profile_tilt` of the devices its line items
    fix on the viewing mix of the platforms it buys on (`chosen`: their codes; several:
    their mean mix) — buyers follow the platforms' screens, as drawn device sets do.
    Profiles whose every line item fixes screens those platforms lack get 0; when that is
    all of them (a mobile-only profile alone on roku_like), their own weights stand."""
    weights: list[float] = []
    for index, profile in enumerate(prof.profiles):
        first = int(prof.first_slot[index])
        slots = prof.slots[first:first + max(int(prof.listed[index]), 1)]
        fixed = [s.targeting.device if s.targeting and "device" in s.targeting.model_fields_set
                 else None for s in slots]
        mixes = [plats.platforms[code].device_mix for code in chosen[index]]
        mix = {d: sum(m.get(d, 0.0) for m in mixes) / len(mixes) for d in DEVICES}
        weights.append(profile.weight * pools.profile_tilt(mix, fixed))
    return weights if sum(weights) > 0 else [p.weight for p in prof.profiles]


def _withfixed_or(drawn: I64, slot: I64, fixed: list[dict[str, Any]], key: str,
                pool: Sequence[Any]) -> I64:
    """The drawn code matrix with the rows of slots that fix `key` replaced, cut to the
    widest row."""
    width = max([drawn.shape[1], *(len(f.get(key, ())) for f in fixed)])
    out = np.full((drawn.shape[0], width), -1, dtype=np.int64)
    out[:, : drawn.shape[1]] = drawn
    for s, values in enumerate(fixed):
        if key in values:
            row = np.full(width, -1, dtype=np.int64)
            row[: len(values[key])] = index_of(values[key], pool)
            out[slot == s] = row
    used = int((out >= 0).sum(axis=1).max()) if out.size else 0
    return np.ascontiguousarray(out[:, : max(used, 1)])


def _sets(drawn: I64, pool: list[tuple[Any, ...]], slot: I64, fixed: list[dict[str, Any]],
          key: str) -> tuple[list[tuple[Any, ...]], I64]:
    """Value sets (the mix's, then the slots' fixed ones) and each line item's index."""
    sets = list(pool)
    out = drawn.copy()
    for s, values in enumerate(fixed):
        if key in values:
            sets.append(tuple(values[key]))
            out[slot == s] = len(sets) - 1
    return sets, out


def _label(devices: list[int], genres: list[int]) -> str:
    """'CTV - Drama', 'Mobile + Desktop - Comedy + Reality', 'All Devices - All Genres'."""
    device = " + ".join("CTV" if DEVICES[d] is DeviceType.ctv else DEVICES[d].value.title()
                        for d in devices if d >= 0) or "All Devices"
    genre = " + ".join(GENRES[g].value.replace("_", " ").title()
                       for g in genres if g >= 0) or "All Genres"
    return f"{device} - {genre}"


_TOKEN = np.frombuffer(b"abcdefghijklmnopqrstuvwxyz0123456789", dtype=np.uint8)


def _creatives(cols: Columns) -> None:
    """Creative columns: format, MIME type, duration, size, QR, names and asset URLs."""
    settings = cols.prof.slots
    n_li = cols.li_adv.size
    item = np.repeat(np.arange(n_li, dtype=np.int64), cols.li_creatives)
    before = np.concatenate([[0], np.cumsum(cols.li_creatives)[:-1]]).astype(np.int64)
    position = np.arange(item.size, dtype=np.int64) - before[item]
    u = Draws(cols.seed, "creative", cols.li_key[item] * _MAX_CREATIVES + position)
    slot, fmt = cols.li_slot[item], cols.li_format[item]
    ctv = DEVICES.index(DeviceType.ctv)
    first = cols.li_devices[:, 0]
    lead_item = np.where((first < 0) | (cols.li_devices == ctv).any(axis=1), ctv, first)
    lead = lead_item[item]
    specs = [s.creatives for s in settings]
    video = np.array([f.is_video for f in FORMATS])[fmt]
    spec_interactive = np.array([-1 if c is None or c.interactive is None else int(c.interactive)
                                 for c in specs], dtype=np.int64)[slot]
    interactive = np.where(spec_interactive >= 0, spec_interactive == 1,
                           fmt == FORMATS.index(AdFormat.interactive_video))
    spec_qr = np.array([-1 if c is None or c.qr is None else int(c.qr) for c in specs],
                       dtype=np.int64)[slot]
    rate = np.array([pools.QR_RATE[d] for d in DEVICES])[lead]
    rate = np.where(interactive, pools.INTERACTIVE_QR_RATE, rate)
    cols.cr_qr = np.where(spec_qr >= 0, spec_qr == 1, u.u(0) < rate)
    # Duration: one of the slot's durations, else by lead device; static formats none; only
    # lengths its line item's platform takes (Platform.check_profile made sure a slot's list
    # has one).
    on = cols.li_platform[item]

    def duration(platform: Platform) -> I64:
        rules = platform.creative_rules
        durations = [[d for d in c.durations if rules.takes(d)] if c is not None else []
                     for c in specs]
        width = max(1, *(len(d) for d in durations))
        table = np.array([d + [0] * (width - len(d)) for d in durations], dtype=np.int64)
        lengths = np.array([len(d) for d in durations], dtype=np.int64)[slot]
        chosen = table[slot, np.minimum((u.u(1) * np.maximum(lengths, 1)).astype(np.int64),
                                        np.maximum(lengths - 1, 0))]
        mixes = {DEVICES.index(d): fit_mix(mix, rules) for d, mix in pools.DURATION_MIX.items()}
        by_device = u.pick_by(1, lead, mixes, sorted({x for m in mixes.values() for x in m}))
        by_device = np.array(sorted({x for m in mixes.values() for x in m}))[by_device]
        drawn: I64 = np.where(video, np.where(lengths > 0, chosen, by_device), -1)
        return drawn

    cols.cr_duration = per_platform(cols, on, duration)
    spec_mime = np.array([-1 if c is None else _code(c.mime_type, MIMES) for c in specs],
                         dtype=np.int64)[slot]
    video_mime = per_platform(cols, on, lambda platform: u.pick_by(
        2, lead, {DEVICES.index(d): fit_mime_mix(m, platform.creative_rules)
                  for d, m in pools.VIDEO_MIME_MIX.items()}, MIMES))
    image_mime = index_of(list(pools.IMAGE_MIME_MIX), MIMES)[
        u.pick(2, list(pools.IMAGE_MIME_MIX.values()))]
    cols.cr_mime = fixed_or(spec_mime, np.where(video, video_mime, image_mime))
    sizes = sorted({size for mix in pools.SIZES.values() for size in mix})
    size = u.pick_by(3, lead, {DEVICES.index(d): m for d, m in pools.SIZES.items()}, sizes)
    cols.cr_width = np.array([s[0] for s in sizes], dtype=np.int64)[size]
    cols.cr_height = np.array([s[1] for s in sizes], dtype=np.int64)[size]
    cols.cr_li, cols.cr_format, cols.cr_interactive = item, fmt, interactive
    concepts = pools.CONCEPTS
    concept = np.minimum((u.u(4) * len(concepts)).astype(np.int64), len(concepts) - 1)
    names = [f"{concepts[c]} {d}s" if d > 0 else f"{concepts[c]} {FORMATS[f].value}"
             for c, d, f in zip(concept.tolist(), cols.cr_duration.tolist(), fmt.tolist(),
                                strict=True)]
    cols.cr_name = unique_within(item, names, " #")
    cols.cr_url = _urls(cols, u)


def _urls(cols: Columns, u: Draws) -> list[str]:
    """https://cdn.<domain>/creatives/<slug of the name>-<8-character token>.<extension>."""
    h = rehash(u.keys, 5)
    digits = np.stack([(h // np.uint64(36**i)) % np.uint64(36) for i in range(8)], axis=1)
    tokens = _TOKEN[digits.astype(np.int64)].tobytes()
    slugs: dict[str, str] = {}
    extension = [pools.EXTENSIONS[m] for m in MIMES]
    domains = [cols.domain[a] for a in cols.li_adv.tolist()]
    urls = []
    for i, (li, name, mime) in enumerate(zip(cols.cr_li.tolist(), cols.cr_name,
                                             cols.cr_mime.tolist(), strict=True)):
        slug = slugs.get(name)
        if slug is None:
            slug = slugs[name] = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "creative"
        token = tokens[8 * i: 8 * i + 8].decode()
        urls.append(f"https://cdn.{domains[li]}/creatives/{slug}-{token}.{extension[mime]}")
    return urls
