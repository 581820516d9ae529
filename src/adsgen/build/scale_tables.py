"""A scale plan's columns, and what is made of them: entity tables and SimLineItems.

`adsgen.build.at_scale` draws the columns of a scale plan into `Columns` (one NumPy array
per field, codes into the enum lists below, what each profile fixes in `ProfileSlots`);
`adsgen.build.scale_checks` checks them in bulk; this module turns them into the entity
tables (Arrow, the ORM's column names and order, so a generated folder loads as is) and
into the `SimLineItem`s the simulation reads.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
from numpy.typing import NDArray

from adsgen.build.items import (
    SimCreative,
    SimExperiment,
    SimFrequencyCap,
    SimLineItem,
    interned,
)
from adsgen.build.numbering import experiment_columns, flight_columns
from adsgen.build.pools import CapKey, budget_shares
from adsgen.domain.enums import (
    AdFormat,
    AdPosition,
    BudgetType,
    CampaignStatus,
    CreativeMimeType,
    Currency,
    Daypart,
    DeviceType,
    DspPartner,
    EntityStatus,
    ExperimentType,
    Genre,
    Industry,
    MediaRating,
    Objective,
    PacingPeriod,
    PacingType,
    QAStatus,
    TargetingKey,
)
from adsgen.domain.experiment import control_geos
from adsgen.domain.fields import (
    MICROS_PER_UNIT,
    utc_timestamps,
)

if TYPE_CHECKING:
    from adsgen.domain.schemas import FlightSchema
    from adsgen.templates.spec import Platform, Profile, ProfileLineItem

__all__ = [
    "DEVICES",
    "DSPS",
    "FORMATS",
    "GENRES",
    "INDUSTRIES",
    "MIMES",
    "OBJECTIVES",
    "PACING_PERIODS",
    "PACING_TYPES",
    "POSITIONS",
    "PPM",
    "Columns",
    "ProfileSlots",
    "campaign_zones",
    "row_groups",
    "sim_items",
    "tables",
]

I64 = NDArray[np.int64]
PPM = 1_000_000
"""Budget shares are integer parts per million: exact, and their sum never passes 1."""
MICROS_PER_CENT = MICROS_PER_UNIT // 100


def _code(value: Any, pool: Sequence[Any]) -> int:
    """Position of `value` in `pool`, -1 for None."""
    return -1 if value is None else list(pool).index(value)


OBJECTIVES, INDUSTRIES, DSPS = list(Objective), list(Industry), list(DspPartner)
PACING_TYPES, PACING_PERIODS = list(PacingType), list(PacingPeriod)
DEVICES, GENRES, POSITIONS = list(DeviceType), list(Genre), list(AdPosition)
FORMATS, MIMES = list(AdFormat), list(CreativeMimeType)


@dataclass
class ProfileSlots:
    """What each profile fixes (-1 or 0: drawn), and its line-item settings as slots."""

    profiles: Sequence[Profile]
    slots: list[ProfileLineItem]
    first_slot: I64
    listed: I64
    fixed_count: I64
    industry: I64
    objective: I64
    dsp: I64
    pacing_type: I64
    pacing_period: I64
    flight_days: I64
    budget_low: I64
    budget_high: I64
    slot_share_ppm: I64
    time_zone: list[str | None]

    @classmethod
    def of(cls, profiles: Sequence[Profile]) -> ProfileSlots:
        slots: list[ProfileLineItem] = []
        first: list[int] = []
        listed: list[int] = []
        shares: list[int] = []
        for profile in profiles:
            first.append(len(slots))
            settings = profile.line_item_settings()
            listed.append(len(settings))
            if settings:
                slots.extend(settings)
                shares.extend(int(s * PPM + 1e-6) for s in budget_shares(settings))
            else:
                slots.append(profile.defaults())
                shares.append(0)
        cents = [(int(p.budget[0] * 100), int(p.budget[1] * 100)) if p.budget else (-1, -1)
                 for p in profiles]

        def codes(name: str, pool: Sequence[Any]) -> I64:
            return np.array([_code(getattr(p, name), pool) for p in profiles], dtype=np.int64)

        return cls(
            profiles=profiles, slots=slots, first_slot=np.array(first, dtype=np.int64),
            listed=np.array(listed, dtype=np.int64),
            fixed_count=np.array([p.line_item_count or 0 for p in profiles], dtype=np.int64),
            industry=codes("industry", INDUSTRIES), objective=codes("objective", OBJECTIVES),
            dsp=codes("dsp_partner", DSPS), pacing_type=codes("pacing_type", PACING_TYPES),
            pacing_period=codes("pacing_period", PACING_PERIODS),
            flight_days=np.array([p.flight_days or 0 for p in profiles], dtype=np.int64),
            budget_low=np.array([c[0] for c in cents], dtype=np.int64),
            budget_high=np.array([c[1] for c in cents], dtype=np.int64),
            slot_share_ppm=np.array(shares, dtype=np.int64),
            time_zone=[p.time_zone for p in profiles],
        )


def _empty() -> I64:
    return np.zeros(0, dtype=np.int64)


@dataclass
class Columns:
    """A scale plan as columns. Campaign c (0-based) is advertiser c's one campaign; line
    items and creatives are in tree order; codes index the enum lists of this module, -1
    meaning none; money is in cents; a campaign's time zone is `zones[zone]`. Targeting:
    device and genre as padded code matrices (-1 pads), geo, day-part and media rating as
    indices into lists of value tuples."""

    seed: int
    days: int
    flight: FlightSchema
    platforms: tuple[Platform, ...]
    """The run's platforms; `li_platform` codes into it (one platform: all 0)."""
    prof: ProfileSlots
    # advertisers and their campaigns
    adv_index: I64 = field(default_factory=_empty)
    profile: I64 = field(default_factory=_empty)
    count: I64 = field(default_factory=_empty)
    industry: I64 = field(default_factory=_empty)
    objective: I64 = field(default_factory=_empty)
    dsp: I64 = field(default_factory=_empty)
    pacing_type: I64 = field(default_factory=_empty)
    pacing_period: I64 = field(default_factory=_empty)
    amount: I64 = field(default_factory=_empty)
    cap: I64 = field(default_factory=_empty)
    campaign_fcap: I64 = field(default_factory=_empty)
    zone: I64 = field(default_factory=_empty)
    zones: list[str] = field(default_factory=list)
    name: list[str] = field(default_factory=list)
    domain: list[str] = field(default_factory=list)
    campaign_name: list[str] = field(default_factory=list)
    # line items
    li_adv: I64 = field(default_factory=_empty)
    li_key: I64 = field(default_factory=_empty)
    li_platform: I64 = field(default_factory=_empty)
    li_slot: I64 = field(default_factory=_empty)
    li_amount: I64 = field(default_factory=_empty)
    li_cap: I64 = field(default_factory=_empty)
    li_cpm: I64 = field(default_factory=_empty)
    li_position: I64 = field(default_factory=_empty)
    li_format: I64 = field(default_factory=_empty)
    li_fcap: I64 = field(default_factory=_empty)
    li_devices: I64 = field(default_factory=_empty)
    li_genres: I64 = field(default_factory=_empty)
    li_geo: I64 = field(default_factory=_empty)
    li_daypart: I64 = field(default_factory=_empty)
    li_rating: I64 = field(default_factory=_empty)
    li_creatives: I64 = field(default_factory=_empty)
    li_name: list[str] = field(default_factory=list)
    geo_sets: list[tuple[str, ...]] = field(default_factory=list)
    daypart_sets: list[tuple[Daypart, ...]] = field(default_factory=list)
    rating_sets: list[tuple[MediaRating, ...]] = field(default_factory=list)
    cap_sets: list[CapKey] = field(default_factory=list)
    # creatives
    cr_li: I64 = field(default_factory=_empty)
    cr_format: I64 = field(default_factory=_empty)
    cr_mime: I64 = field(default_factory=_empty)
    cr_duration: I64 = field(default_factory=_empty)
    cr_width: I64 = field(default_factory=_empty)
    cr_height: I64 = field(default_factory=_empty)
    cr_qr: NDArray[np.bool_] = field(default_factory=lambda: np.zeros(0, dtype=bool))
    cr_interactive: NDArray[np.bool_] = field(default_factory=lambda: np.zeros(0, dtype=bool))
    cr_name: list[str] = field(default_factory=list)
    cr_url: list[str] = field(default_factory=list)

    def cap_index(self, cap: CapKey) -> int:
        """Index of `cap` in `cap_sets`, added when new."""
        if cap not in self.cap_sets:
            self.cap_sets.append(cap)
        return self.cap_sets.index(cap)

    def owner_rows(self) -> tuple[I64, I64]:
        """Row of each campaign and of each line item in the tables owned by either
        (flights, budgets, caps): tree order, a campaign then its line items."""
        before = np.concatenate([[0], np.cumsum(self.count)[:-1]]).astype(np.int64)
        campaign_rows = np.arange(self.count.size, dtype=np.int64) + before
        position = np.arange(self.li_adv.size, dtype=np.int64) - before[self.li_adv]
        return campaign_rows, campaign_rows[self.li_adv] + 1 + position


def campaign_zones(cols: Columns) -> None:
    """Each campaign's time zone: its profile's, else the zone of the first geo its line
    items target (`adsgen.build.plans.campaign_time_zone`, in columns), each on its line
    item's platform; with no geo, the default zone of its first line item's platform."""
    platforms = cols.platforms
    fixed = cols.prof.time_zone
    cols.zones = sorted({*(z for p in platforms for z in p.geo_timezones.values()),
                         *(z for z in fixed if z)})
    code = {zone: i for i, zone in enumerate(cols.zones)}
    set_zone = np.array([[code[p.geo_timezones[s[0]]] if s and s[0] in p.geo_timezones
                          else -1 for s in cols.geo_sets] for p in platforms], dtype=np.int64)
    item_zone = set_zone[cols.li_platform, cols.li_geo]
    rows = np.arange(item_zone.size, dtype=np.int64)
    starts = np.concatenate([[0], np.cumsum(cols.count)[:-1]]).astype(np.int64)
    first = np.minimum.reduceat(np.where(item_zone >= 0, rows, item_zone.size), starts)
    default = np.array([code[p.time_zone()] for p in platforms],
                       dtype=np.int64)[cols.li_platform[starts]]
    drawn = np.where(first < item_zone.size,
                     item_zone[np.minimum(first, item_zone.size - 1)], default)
    profile_zone = np.array([code[z] if z else -1 for z in fixed], dtype=np.int64)
    cols.zone = np.where(profile_zone[cols.profile] >= 0, profile_zone[cols.profile], drawn)


# --- entity tables ---------------------------------------------------------------------------


def _strings(pool: Sequence[Any], codes: I64) -> pa.Array:
    """The string value of each code (codes index `pool`); NumPy gathers, so planning needs
    no `pyarrow.compute`."""
    return pa.array(np.array([str(value) for value in pool], dtype=object)[codes], pa.string())


def _ids(n: int) -> pa.Array:
    return pa.array(np.arange(1, n + 1, dtype=np.int64))


def _nullable(values: I64) -> pa.Array:
    """int64 with nulls where `values` is negative."""
    return pa.array(values, pa.int64(), mask=values < 0)


def _owners(cols: Columns) -> tuple[I64, I64]:
    """campaign_id and line_item_id (-1: none) of each row of the tables campaigns and
    line items own (flights, budgets, caps), in tree order."""
    campaign_rows, item_rows = cols.owner_rows()
    total = campaign_rows.size + item_rows.size
    campaign_id = np.full(total, -1, dtype=np.int64)
    line_item_id = np.full(total, -1, dtype=np.int64)
    campaign_id[campaign_rows] = np.arange(1, campaign_rows.size + 1)
    line_item_id[item_rows] = np.arange(1, item_rows.size + 1)
    return campaign_id, line_item_id


def _in_tree_order(cols: Columns, campaign: I64, line_item: I64) -> I64:
    campaign_rows, item_rows = cols.owner_rows()
    out = np.empty(campaign.size + line_item.size, dtype=campaign.dtype)
    out[campaign_rows], out[item_rows] = campaign, line_item
    return out


def tables(cols: Columns) -> dict[str, pa.Table]:
    """The eight entity tables with ids 1, 2, 3 … in tree order (see `number_plan`)."""
    n_adv, n_li, n_cr = cols.count.size, cols.li_adv.size, cols.cr_li.size
    active = str(EntityStatus.active)
    usd = str(Currency.USD)
    out: dict[str, pa.Table] = {}
    out["advertisers"] = pa.table({
        "id": _ids(n_adv), "status": pa.repeat(active, n_adv),
        "name": pa.array(cols.name, pa.string()), "industry": _strings(INDUSTRIES, cols.industry),
        "domain": pa.array(cols.domain, pa.string()), "currency": pa.repeat(usd, n_adv),
    })
    out["campaigns"] = pa.table({
        "id": _ids(n_adv), "advertiser_id": _ids(n_adv),
        "status": pa.repeat(str(CampaignStatus.active), n_adv),
        "name": pa.array(cols.campaign_name, pa.string()),
        "objective": _strings(OBJECTIVES, cols.objective), "dsp_partner": _strings(DSPS, cols.dsp),
        "time_zone": _strings(cols.zones, cols.zone),
    })
    out["line_items"] = pa.table({
        "id": _ids(n_li), "campaign_id": pa.array(cols.li_adv + 1),
        "status": pa.repeat(active, n_li), "name": pa.array(cols.li_name, pa.string()),
        "ad_format": _strings(FORMATS, cols.li_format),
        "position": _strings(POSITIONS, cols.li_position),
        "cpm_micros": pa.array(cols.li_cpm * MICROS_PER_CENT),
        "platform": _strings([p.name for p in cols.platforms], cols.li_platform),
        **_experiment_columns(cols),
    })
    out["creatives"] = pa.table({
        "id": _ids(n_cr), "line_item_id": pa.array(cols.cr_li + 1),
        "status": pa.repeat(active, n_cr), "name": pa.array(cols.cr_name, pa.string()),
        "ad_format": _strings(FORMATS, cols.cr_format), "mime_type": _strings(MIMES, cols.cr_mime),
        "duration_s": _nullable(cols.cr_duration), "asset_url": pa.array(cols.cr_url, pa.string()),
        "width": pa.array(cols.cr_width), "height": pa.array(cols.cr_height),
        "has_qr": pa.array(cols.cr_qr), "interactive": pa.array(cols.cr_interactive),
        "qa_status": pa.repeat(str(QAStatus.approved_servable), n_cr),
    })
    campaign_owner, item_owner = _owners(cols)
    owners = n_adv + n_li
    arc = {"campaign_id": _nullable(campaign_owner), "line_item_id": _nullable(item_owner)}
    flight = {name: pa.repeat(pa.scalar(value), owners)
              for name, value in flight_columns(cols.flight).items()}
    out["flights"] = utc_timestamps(pa.table({"id": _ids(owners), **arc, **flight}))
    cap = _in_tree_order(cols, cols.cap, cols.li_cap)
    out["budgets"] = pa.table({
        "id": _ids(owners), **arc, "budget_type": pa.repeat(str(BudgetType.lifetime), owners),
        "amount_micros": pa.array(_in_tree_order(cols, cols.amount, cols.li_amount)
                                  * MICROS_PER_CENT),
        "currency": pa.repeat(usd, owners),
        "pacing_type": _strings(PACING_TYPES, _in_tree_order(
            cols, cols.pacing_type, cols.pacing_type[cols.li_adv])),
        "pacing_period": _strings(PACING_PERIODS, _in_tree_order(
            cols, cols.pacing_period, cols.pacing_period[cols.li_adv])),
        "daily_cap_micros": pa.array(cap * MICROS_PER_CENT, pa.int64(), mask=cap < 0),
    })
    fcap = _in_tree_order(cols, cols.campaign_fcap, cols.li_fcap)
    keys = [cols.cap_sets[i] for i in fcap.tolist()]
    capped = np.flatnonzero([key is not None for key in keys])
    held = [key for key in keys if key is not None]
    out["frequency_caps"] = pa.table({
        "id": _ids(capped.size), "campaign_id": _nullable(campaign_owner[capped]),
        "line_item_id": _nullable(item_owner[capped]),
        "max_impressions": pa.array([k[0] for k in held], pa.int64()),
        "time_unit": pa.array([str(k[1]) for k in held], pa.string()),
        "time_unit_count": pa.array([k[2] for k in held], pa.int64()),
    })
    out["targeting"] = _targeting(cols)
    return out


def _matrix_rows(matrix: I64, pool: Sequence[Any]) -> tuple[I64, I64, list[str]]:
    """(line item, position, value) of each non-pad cell of a code matrix."""
    item, position = np.nonzero(matrix >= 0)
    values = [str(v) for v in pool]
    return item, position, [values[c] for c in matrix[item, position].tolist()]


def _set_rows(index: I64, sets: Sequence[tuple[Any, ...]]) -> tuple[I64, I64, list[str]]:
    """(line item, position, value) of each value of each line item's set."""
    lengths = np.array([len(s) for s in sets], dtype=np.int64)[index]
    item = np.repeat(np.arange(index.size, dtype=np.int64), lengths)
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
    position = np.arange(item.size, dtype=np.int64) - np.repeat(starts, lengths)
    values = [[str(v) for v in s] for s in sets]
    chosen = index[item].tolist()
    return item, position, [values[s][p] for s, p in zip(chosen, position.tolist(), strict=True)]


_FIXED_ONLY = (TargetingKey.dma, TargetingKey.state, TargetingKey.segment)
"""Targeting keys the providers never draw: a line item has them only when its profile fixes
them."""


def _targeting(cols: Columns) -> pa.Table:
    """One row per (line item, key, value), keys in TargetingKey order as `Targeting.rows`."""
    parts = {
        TargetingKey.device: _matrix_rows(cols.li_devices, DEVICES),
        TargetingKey.genre: _matrix_rows(cols.li_genres, GENRES),
        TargetingKey.geo: _set_rows(cols.li_geo, cols.geo_sets),
        TargetingKey.daypart: _set_rows(cols.li_daypart, cols.daypart_sets),
        TargetingKey.media_rating: _set_rows(cols.li_rating, cols.rating_sets),
    }
    # Keys adsgen never draws (dma, state, segment): only what a profile slot fixes.
    for key in _FIXED_ONLY:
        fixed = [tuple(str(v) for v in getattr(slot.targeting, key.value))
                 if slot.targeting is not None else () for slot in cols.prof.slots]
        if any(fixed):
            parts[key] = _set_rows(cols.li_slot, fixed)
    keys = list(TargetingKey)
    item = np.concatenate([p[0] for p in parts.values()])
    position = np.concatenate([p[1] for p in parts.values()])
    rank = np.concatenate([np.full(p[0].size, keys.index(k)) for k, p in parts.items()])
    order = np.lexsort((position, rank, item))
    values = np.array([v for p in parts.values() for v in p[2]], dtype=object)
    return pa.table({
        "id": _ids(item.size), "line_item_id": pa.array(item[order] + 1),
        "key": _strings(keys, rank[order]), "value": pa.array(values[order], pa.string()),
    })


# --- simulation inputs ---------------------------------------------------------------------


def sim_items(cols: Columns) -> list[SimLineItem]:
    """The simulation's view of every line item (ids as in `tables`)."""
    start, end = cols.flight.start, cols.flight.end
    caps = [None if c is None else SimFrequencyCap(c[0], c[1], c[2]) for c in cols.cap_sets]
    durations = [None if d < 0 else d for d in cols.cr_duration.tolist()]
    made = [SimCreative(cid, fmt, duration, qr, interactive, True)
            for cid, fmt, duration, qr, interactive in zip(
                range(1, cols.cr_li.size + 1), _objects(cols.cr_format, FORMATS), durations,
                cols.cr_qr.tolist(), cols.cr_interactive.tolist(), strict=True)]
    ends = np.cumsum(cols.li_creatives).tolist()
    creatives = [tuple(made[b - n: b]) for b, n in zip(ends, cols.li_creatives.tolist(),
                                                        strict=True)]
    adv = cols.li_adv
    campaign_caps = cols.campaign_fcap[adv].tolist()
    fcaps = [caps[own] or caps[campaign] for own, campaign in zip(
        cols.li_fcap.tolist(), campaign_caps, strict=True)]
    caps_micros = [None if c < 0 else c * MICROS_PER_CENT for c in cols.li_cap.tolist()]
    experiments, served = _experiments(cols)
    markets = {key: _objects(cols.li_slot, [
        interned(tuple(getattr(slot.targeting, key.value)) if slot.targeting is not None else ())
        for slot in cols.prof.slots]) for key in _FIXED_ONLY}
    return [
        SimLineItem(
            line_item_id=i, campaign_id=a, advertiser_id=a, start=start, end=end, active=True,
            objective=objective, ad_format=fmt, position=position, cpm_micros=cpm,
            budget_micros=amount, daily_cap_micros=cap, pacing_type=pacing_type,
            pacing_period=pacing_period, frequency_cap=fcap, creatives=made_for,
            devices=devices, genres=genres, geos=geos, dayparts=dayparts, time_zone=zone,
            industry=industry, experiment=experiment, platform=platform,
            dmas=dmas, states=states, segments=segments,
        )
        for i, a, objective, fmt, position, cpm, amount, cap, pacing_type, pacing_period, fcap,
        made_for, devices, genres, geos, dayparts, zone, industry, experiment, dmas, states,
        segments, platform in zip(
            range(1, adv.size + 1), (adv + 1).tolist(),
            _objects(cols.objective[adv], OBJECTIVES), _objects(cols.li_format, FORMATS),
            _objects(cols.li_position, POSITIONS), (cols.li_cpm * MICROS_PER_CENT).tolist(),
            (cols.li_amount * MICROS_PER_CENT).tolist(), caps_micros,
            _objects(cols.pacing_type[adv], PACING_TYPES),
            _objects(cols.pacing_period[adv], PACING_PERIODS), fcaps, creatives,
            _row_tuples(cols.li_devices, DEVICES), _row_tuples(cols.li_genres, GENRES),
            served, _objects(cols.li_daypart, cols.daypart_sets),
            _objects(cols.zone[adv], cols.zones), _objects(cols.industry[adv], INDUSTRIES),
            experiments, markets[TargetingKey.dma], markets[TargetingKey.state],
            markets[TargetingKey.segment],
            _objects(cols.li_platform, [p.name for p in cols.platforms]), strict=True,
        )
    ]


def _experiment_columns(cols: Columns) -> dict[str, pa.Array]:
    """The line_items experiment columns: each line item's slot's experiment (null: none)."""
    per_slot = [experiment_columns(s.experiment) for s in cols.prof.slots]
    names = ("experiment_type", "experiment_control_share", "experiment_control_geos")
    kinds = (pa.string(), pa.float64(), pa.string())
    return {name: pa.array(_objects(cols.li_slot, [c[name] for c in per_slot]), kind)
            for name, kind in zip(names, kinds, strict=True)}


def _experiments(cols: Columns) -> tuple[list[SimExperiment | None], list[tuple[str, ...]]]:
    """Per line item: its SimExperiment (control geos resolved) and the geos it serves (its
    targeted geos less any control geos)."""
    geos = _objects(cols.li_geo, cols.geo_sets)
    if all(s.experiment is None for s in cols.prof.slots):
        return [None] * len(geos), geos
    made: dict[tuple[int, int], tuple[SimExperiment | None, tuple[str, ...]]] = {}
    experiments: list[SimExperiment | None] = []
    served: list[tuple[str, ...]] = []
    for slot, geo in zip(cols.li_slot.tolist(), cols.li_geo.tolist(), strict=True):
        if (slot, geo) not in made:  # once per distinct (slot, geo set)
            spec, targeted = cols.prof.slots[slot].experiment, cols.geo_sets[geo]
            if spec is None:
                made[slot, geo] = (None, targeted)
            else:
                chosen = (control_geos(spec, targeted) if spec.type is ExperimentType.geo
                          else ())
                made[slot, geo] = (SimExperiment(spec.type, spec.control_share, chosen),
                                   tuple(g for g in targeted if g not in chosen))
        experiment, kept = made[slot, geo]
        experiments.append(experiment)
        served.append(kept)
    return experiments, served


def _objects(codes: I64, pool: Sequence[Any]) -> list[Any]:
    """`pool[code]` for each code."""
    return [pool[c] for c in codes.tolist()]


def row_groups(matrix: I64) -> tuple[list[list[int]], list[int]]:
    """The distinct rows of a padded code matrix (codes below 31) as lists, and each
    row's index among them: per-row Python work done once per distinct row."""
    if matrix.shape[1] > 12:
        rows, inverse = np.unique(matrix, axis=0, return_inverse=True)
        return rows.tolist(), inverse.reshape(-1).tolist()
    key = np.zeros(matrix.shape[0], dtype=np.int64)
    for column in range(matrix.shape[1]):
        key = key * 32 + (matrix[:, column] + 1)
    _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    return matrix[first].tolist(), inverse.reshape(-1).tolist()


def _row_tuples(matrix: I64, pool: Sequence[Any]) -> list[tuple[Any, ...]]:
    """Each row of a padded code matrix as a tuple of `pool` values."""
    rows, inverse = row_groups(matrix)
    made = [tuple(pool[c] for c in row if c >= 0) for row in rows]
    return [made[i] for i in inverse]
