"""The fact tables the simulation emits — `FACT_TABLES`, the one registry of them — with
each table's Arrow schema and each column's meaning; the ORM and every sink follow it.

One row of `performance` is line item × creative × device × UTC hour. `ground_truth` holds
each line item's true per-impression probabilities by device, with the seed. Each field
carries its description (and unit) in its metadata — the one place they are written: the
ORM copies them into its column comments and `adsgen schema` prints them (the sinks leave
them out of the files).

Every consumer — the simulation's result, file sinks and their partitioning, the manifest,
the database tables, bulk loads, `adsgen load`, `adsgen schema`, run summaries — iterates
`FACT_TABLES`. Adding a table is one `FactTable` entry here plus producing it in
`adsgen.simulate.engine`; nothing else names it.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

from adsgen.domain.fields import TIMESTAMP_TZ, TIMESTAMP_UNIT

__all__ = [
    "CAMPAIGN_REACH_SCHEMA",
    "CONVERSION_TRUTH_SCHEMA",
    "CREATIVE_TRUTH_SCHEMA",
    "DAILY_SCHEMA",
    "EXPERIMENT_OUTCOMES_SCHEMA",
    "EXPERIMENT_TRUTH_SCHEMA",
    "FACT_TABLES",
    "FUNNEL",
    "GROUND_TRUTH_SCHEMA",
    "MARKET_DELIVERY_SCHEMA",
    "MMM_CHANNELS",
    "MMM_CHANNEL_COLUMNS",
    "MMM_SCHEMA",
    "PACING_SCHEMA",
    "PERFORMANCE_SCHEMA",
    "PLATFORM_FIELD",
    "PLATFORM_TABLES",
    "POD_DELIVERY_SCHEMA",
    "REACH_SCHEMA",
    "TIMESTAMP",
    "FactTable",
    "describe",
    "without_platform",
]

# The one timestamp type of every table and file: µs since the epoch, UTC-aware.
TIMESTAMP = pa.timestamp(TIMESTAMP_UNIT, tz=TIMESTAMP_TZ)

# Video funnel, widest first: each stage is <= the one before it.
FUNNEL: tuple[str, ...] = (
    "impressions", "starts", "first_quartile", "midpoint", "third_quartile", "completes",
)


def _field(name: str, kind: pa.DataType, description: str, unit: str = "") -> pa.Field:
    """A column with its description and unit in the field metadata."""
    metadata = {"description": description, **({"unit": unit} if unit else {})}
    return pa.field(name, kind, metadata=metadata)


def describe(field: pa.Field) -> tuple[str, str]:
    """(description, unit) of a field of these schemas ('' when absent)."""
    metadata = field.metadata or {}
    return (metadata.get(b"description", b"").decode(), metadata.get(b"unit", b"").decode())


def _reached(stage: str) -> str:
    return f"Impressions whose video played to {stage} (0 for static formats)."


_MIXED = "averaged over the line item's creatives by rotation weight"


def _p(event: str, note: str = "", *, valid: bool = False) -> str:
    per = ("per valid impression (impressions − invalid; invalid traffic never does)" if valid
           else "per served impression (invalid traffic included)")
    return f"True probability that an impression {event}: unconditional, {per}, {_MIXED}.{note}"


_WEAR_OUT = " Later exposures wear it down: see creative_truth.wear_out_rate (and x)."


def _worn(event: str, note: str, *, valid: bool = False) -> str:
    """A probability that wear-out lowers: the first-exposure rate, and how rows fall from it."""
    return _p(f"{event} at a household's first exposure to the creative", note + _WEAR_OUT,
              valid=valid)


PLATFORM_FIELD = _field(
    "platform", pa.string(),
    "Platform the row's line item buys on (line_items.platform; `adsgen list platforms`):"
    " every line item buys on exactly one platform, so GROUP BY platform gives delivery,"
    " completion or CPM by platform with no join. The same value on every row of a line"
    " item; Parquet stores it dictionary-encoded.")
"""The `platform` column the engine appends to every table of PLATFORM_TABLES."""

PLATFORM_TABLES: tuple[str, ...] = ("performance", "ground_truth", "reach", "pacing", "daily")
"""The line-item fact tables that carry `platform` (their last column)."""


def _with_platform(fields: list[pa.Field]) -> pa.Schema:
    """A line-item fact table's schema: its own columns, then `platform`."""
    return pa.schema([*fields, PLATFORM_FIELD])


def without_platform(schema: pa.Schema) -> pa.Schema:
    """The columns a table of PLATFORM_TABLES is computed with: all but `platform`, which
    the engine adds per batch (a batch is one platform's line items)."""
    return schema.remove(schema.get_field_index("platform"))


PERFORMANCE_SCHEMA = _with_platform([
    _field("line_item_id", pa.int64(), "Line item that delivered (line_items.id)."),
    _field("creative_id", pa.int64(),
           "Creative shown (creatives.id), always one of this row's line item's creatives."),
    _field("hour", TIMESTAMP,
           "Start of the UTC hour [hour, hour + 1 h) the row counts, a whole hour within the"
           " line item's flight [start_at, end_at). Files are partitioned by its UTC date"
           " (date=YYYY-MM-DD).", "UTC"),
    _field("device", pa.string(), "Device class the ads were served on: ctv, mobile or desktop."),
    _field("impressions", pa.int64(),
           "Ads served in the hour, invalid traffic included (0 when nothing was served: such"
           " rows are kept). Only the valid ones (impressions − invalid) are billed and can"
           " click, scan or convert.",
           "impressions"),
    _field("starts", pa.int64(), "Impressions whose video started (0 for static formats).",
           "impressions"),
    _field("first_quartile", pa.int64(), _reached("25 %"), "impressions"),
    _field("midpoint", pa.int64(), _reached("50 %"), "impressions"),
    _field("third_quartile", pa.int64(), _reached("75 %"), "impressions"),
    _field("completes", pa.int64(),
           "Impressions whose video played to the end; completion rate = completes /"
           " impressions.", "impressions"),
    _field("measurable", pa.int64(), "Impressions a viewability vendor could measure.",
           "impressions"),
    _field("viewable", pa.int64(),
           "Measurable impressions that were viewable; viewability = viewable / measurable.",
           "impressions"),
    _field("invalid", pa.int64(),
           "Impressions flagged as invalid traffic (bots, fraud), part of `impressions`: not"
           " billed (spend_micros counts impressions − invalid) and never clicked, scanned or"
           " converted; still counted in starts … completes, measurable and viewable as ad"
           " servers and verification vendors report them. IVT rate = invalid / impressions.",
           "impressions"),
    _field("clicks", pa.int64(),
           "Clicks, by valid impressions only (clicks ≤ impressions − invalid): on mobile and"
           " desktop, and on CTV only for interactive creatives; CTR = clicks / (impressions −"
           " invalid).",
           "clicks"),
    _field("qr_scans", pa.int64(),
           "QR-code scans, by valid impressions only (qr_scans ≤ impressions − invalid): only"
           " for creatives with a QR code, never on mobile.", "scans"),
    _field("click_conversions", pa.int64(),
           "Conversions after a click, counted in the hour they happened (a lag of 0 to 168 h"
           " after the click; none after the flight's end).", "conversions"),
    _field("view_conversions", pa.int64(),
           "View-through conversions (no click), counted in the hour they happened, same"
           " attribution window as click_conversions.", "conversions"),
    _field("cumulative_reach", pa.int64(),
           "Distinct households the line item has reached on this device from the flight"
           " start to the end of this hour: a running total of the (line_item_id, device)"
           " pair, not a count of this row. The same value is repeated on every creative's"
           " row of that line item, device and hour, so never SUM it (over creatives, hours"
           " or rows: summing overstates reach). Reach of a line item on a device ="
           " MAX(cumulative_reach) over its rows; reach up to hour H = its value at H. Reach"
           " does not add up across devices or line items (households overlap): a sum is only"
           " an upper bound. Never decreases; at most the impressions so far and"
           " ground_truth.audience.", "households"),
    _field("spend_micros", pa.int64(),
           "Media cost of the row, billed on valid impressions only: (impressions − invalid) ×"
           " line_items.cpm_micros / 1000, rounded down once per row; sums are exact.",
           "micros"),
])

GROUND_TRUTH_SCHEMA = _with_platform([
    _field("line_item_id", pa.int64(), "Line item (line_items.id)."),
    _field("device", pa.string(), "Device class: ctv, mobile or desktop."),
    _field("seed", pa.int64(),
           "Seed of the run that drew these values (--seed): same seed, same truth."),
    _field("audience", pa.int64(),
           "Targetable households on this device: households of the platform in the line"
           " item's geos (the US narrowed to its DMAs and states: US households × their TV"
           " homes ÷ all 210 DMAs') that watch its genres, are in its audience segments"
           " (shares add within a segment kind, multiply across kinds) and own the device — the"
           " population N of its reach curve on the device; cumulative_reach never exceeds"
           " it.", "households"),
    _field("cpm_micros", pa.int64(),
           "The line item's CPM (line_items.cpm_micros), so the truth stands alone.",
           "micros per 1,000 impressions"),
    _field("industry", pa.string(),
           "Industry of the line item's advertiser (advertisers.industry), so the truth stands"
           " alone: it scales planned_frequency by the industry's average frequency ÷ 7.4"
           " (Innovid 2023: travel 12.9, automotive 11.5, finance 8.7, cpg_food 6.6, pharma"
           " 5.05; the other industries plan the average). Null when the line items were"
           " given to the simulation without one (Python API)."),
    _field("targetable_households", pa.int64(),
           "Targetable households over all the line item's devices, de-duplicated (a"
           " household owning two targeted devices counts once): the population of its"
           " cross-device reach. Same on every device row of the line item.", "households"),
    _field("exposure_shape", pa.float64(),
           "Shape k of the gamma mixing of the line item's exposures across households"
           " (negative binomial / NBD exposure): with O offered impressions over N households,"
           " expected reach = N·(1 − (1 + O/(N·k))^(−k)). Small k: exposures concentrate on"
           " few households (high frequency); large k: the Poisson curve.", "shape"),
    _field("planned_frequency", pa.float64(),
           "Average impressions per reached household the line item was planned for (grows"
           " with its size and is scaled by its industry, Innovid 2023, within 2-20; × s^−0.2,"
           " at most 20, when DMAs, states or segments keep a share s of its audience: the"
           " same impressions on fewer households); exposure_shape is"
           " set so the planned impressions reach planned impressions ÷ planned_frequency"
           " households.",
           "impressions per household"),
    _field("win_rate", pa.float64(),
           "Share of a geo × device × day's ad slots the line item could win against the rest"
           " of the market (the most it asks for, before competition within the plan).",
           "share 0-1"),
    _field("allocated_share", pa.float64(),
           "Share of the slots the line item asked for that the competition with the plan's"
           " other line items left it (1 = everything it asked for; below 1 = outbid on some"
           " geo × device × days by higher-CPM line items).", "share 0-1"),
    _field("p_start", pa.float64(), _p("starts playing"), "probability 0-1"),
    _field("p_first_quartile", pa.float64(),
           _worn("plays to 25 %", " It keeps 55 % of the start-to-complete drop-off above"
                 " p_complete as completion wears out."), "probability 0-1"),
    _field("p_midpoint", pa.float64(),
           _worn("plays to 50 %", " It keeps 30 % of the start-to-complete drop-off above"
                 " p_complete as completion wears out."), "probability 0-1"),
    _field("p_third_quartile", pa.float64(),
           _worn("plays to 75 %", " It keeps 12 % of the start-to-complete drop-off above"
                 " p_complete as completion wears out."), "probability 0-1"),
    _field("p_complete", pa.float64(),
           _worn("plays to the end (the completion rate)",
                 " A performance row's expected completes ="
                 " impressions × p_complete × exp(−0.1 × wear_out_rate × x)."),
           "probability 0-1"),
    _field("p_measurable", pa.float64(), _p("is measurable"), "probability 0-1"),
    _field("p_viewable", pa.float64(),
           _p("is viewable", " Not given measurable: that rate is p_viewable / p_measurable."),
           "probability 0-1"),
    _field("p_invalid", pa.float64(), _p("is invalid traffic"), "probability 0-1"),
    _field("p_click", pa.float64(),
           _worn("is clicked (the true CTR)",
                 " A performance row's expected clicks ="
                 " (impressions − invalid) × p_click × exp(−wear_out_rate × x).", valid=True),
           "probability 0-1"),
    _field("p_qr_scan", pa.float64(),
           _p("has its QR code scanned", valid=True),
           "probability 0-1"),
    _field("p_conversion", pa.float64(),
           _p("leads to a conversion (click-through plus view-through) within the 168 h"
              " attribution window, whether it lands before or after the flight's end",
              " Conversions landing after end_at have no row: the rows show"
              " p_conversion × conversion_share_in_flight per valid impression. It is the"
              " attributed rate the rows were drawn at: conversion_truth sets its level day by"
              " day (incremental + exposed baseline conversions), so frequency, completion"
              " and wear-out move it; within a day the view-through share grows by what"
              " clicks lose.",
              valid=True), "probability 0-1"),
    _field("conversion_lag_mean_hours", pa.float64(),
           "Mean of the exponential delay between an impression or click and its conversion"
           " (before the 168 h window cuts it).", "hours"),
    _field("conversion_share_in_flight", pa.float64(),
           "Expected share of the conversions this line item's valid impressions on this"
           " device cause (at p_conversion, within the 168 h window) that land before the"
           " flight's end_at and so appear in performance; the rest land after the flight"
           " and have no row. Computed from the valid impressions delivered in each hour and"
           " the true lag distribution: Σ p × (impressions − invalid) × P(lag < end_at −"
           " hour) / Σ p × (impressions − invalid) over the pair's rows (p = the creative's"
           " conversion probability); 1 when no valid impression was served. The true rate"
           " from the rows alone: p_conversion ≈ Σ (click_conversions + view_conversions) /"
           " (conversion_share_in_flight × Σ (impressions − invalid)).", "share 0-1"),
])



def _unmixed(field: pa.Field) -> pa.Field:
    """A ground_truth probability as creative_truth holds it: one creative's, not mixed."""
    description, unit = describe(field)
    per_creative = description.replace(
        _MIXED, "of this creative on this device, as the funnel draws it"
        f" (ground_truth.{field.name} = the sum over the line item's creatives of"
        f" rotation_weight × {field.name})")
    if per_creative == description:
        raise AssertionError(f"ground_truth.{field.name}: describe it with _p()")
    return _field(field.name, field.type, per_creative, unit)


CREATIVE_TRUTH_SCHEMA = pa.schema([
    _field("line_item_id", pa.int64(), "Line item (line_items.id)."),
    _field("creative_id", pa.int64(),
           "Creative (creatives.id): one of the line item's servable creatives, the ones its"
           " performance rows show."),
    _field("device", pa.string(), "Device class: ctv, mobile or desktop."),
    _field("seed", pa.int64(),
           "Seed of the run that drew these values (--seed): same seed, same truth."),
    _field("ad_format", pa.string(),
           "The creative's format (creatives.ad_format): video, interactive_video, pause_ad or"
           " overlay. Static formats (pause_ad, overlay) fire no video events."),
    _field("duration_s", pa.int64(),
           "Length of the creative's video (creatives.duration_s); null when it plays none."
           " Completion falls 0.2 points per second beyond 15 s.", "seconds"),
    _field("rotation_weight", pa.float64(),
           "The creative's weight in the line item's rotation (0.5-1.5 drawn per creative,"
           " normalised: the weights of a line item's creatives sum to 1 on each device). Each"
           " hour × device's impressions are split over the creatives by a multinomial with"
           " these weights, so it is the creative's expected share of impressions.",
           "share 0-1"),
    _field("wear_out_rate", pa.float64(),
           "How fast the creative wears out (Pechmann & Stewart 1988): the relative drop of"
           " its CTR per exposure a household already had to it, drawn per creative in"
           " 0.02-0.08; completion drops a tenth as fast. On a performance row, x ="
           " (impressions of this line item × creative × device in the hours before the"
           " row's) ÷ the row's cumulative_reach, and the row's CTR = p_click ×"
           " exp(−wear_out_rate × x), completion = p_complete × exp(−0.1 × wear_out_rate ×"
           " x), each quartile keeping its share of the drop-off (p_start does not wear;"
           " view-through conversion takes what clicks lose, so p_conversion holds). x = 0"
           " until the series' first impressions: the p_ columns are first-exposure rates.",
           "per exposure"),
    *(_unmixed(f) for f in GROUND_TRUTH_SCHEMA if f.name.startswith("p_")),
])

REACH_SCHEMA = _with_platform([
    _field("line_item_id", pa.int64(), "Line item (line_items.id)."),
    _field("device", pa.string(),
           "ctv, mobile or desktop; `all` = the line item's households de-duplicated over its"
           " devices (a household reached on two devices counts once)."),
    _field("period", pa.string(),
           "`day`: the UTC day in `day`; `flight`: the whole flight (day = its last day)."),
    _field("day", pa.date32(), "UTC date of the day (for flight rows, the flight's last day).",
           "UTC"),
    _field("impressions", pa.int64(), "Impressions of the line item on the device in the period.",
           "impressions"),
    _field("reach", pa.int64(),
           "Distinct households that saw at least one impression in the period. Reach does not"
           " add up over days, devices or line items (households overlap): never SUM it.",
           "households"),
    _field("cumulative_reach", pa.int64(),
           "Distinct households reached from the flight start to the end of the period (equals"
           " reach on flight rows); never decreases from day to day.", "households"),
    _field("average_frequency", pa.float64(),
           "impressions ÷ reach (0 when nobody was reached).", "impressions per household"),
    _field("targetable_households", pa.int64(),
           "The population the reach is drawn from: ground_truth.audience for a device,"
           " ground_truth.targetable_households for `all`.", "households"),
    *[
        _field(f"frequency_{j}", pa.int64(),
               f"Households that saw exactly {j} impression{'s' if j > 1 else ''} in the period.",
               "households")
        for j in range(1, 10)
    ],
    _field("frequency_10_plus", pa.int64(),
           "Households that saw 10 or more impressions in the period; frequency_1 … 10_plus"
           " sum to reach.", "households"),
])


PACING_SCHEMA = _with_platform([
    _field("line_item_id", pa.int64(), "Line item (line_items.id)."),
    _field("day", pa.date32(),
           "The pacing day: a date in the campaign's time zone (campaigns.time_zone), whose"
           " midnight starts the day's budget and daily cap.", "local date"),
    _field("goal_impressions", pa.int64(),
           "What the pacer aimed to deliver that day: the day's share of the budget (its share"
           " of the flight's forecast supply, tilted for AHEAD), off by the pacer's daily"
           " error; FLIGHT pacing adds what earlier days missed.", "impressions"),
    _field("available_impressions", pa.int64(),
           "Slots the line item won that day (its share of the shared inventory in its geos,"
           " devices and day-parts), before the frequency cap.", "impressions"),
    _field("capped_impressions", pa.int64(),
           "What the frequency cap left of the available impressions.", "impressions"),
    _field("delivered_impressions", pa.int64(),
           "Impressions delivered that day (= SUM(performance.impressions) of the day).",
           "impressions"),
    _field("lost_to_competition", pa.int64(),
           "Expected impressions that higher-CPM line items of the plan took from it (0 when"
           " it got every slot it asked for: ground_truth.allocated_share = 1).",
           "impressions"),
    _field("lost_to_frequency_cap", pa.int64(),
           "available_impressions − capped_impressions.", "impressions"),
    _field("lost_to_daily_cap", pa.int64(), "Impressions the daily cap cut that day.",
           "impressions"),
    _field("lost_to_budget", pa.int64(),
           "Impressions the lifetime budget cut that day (the budget was spent).", "impressions"),
    _field("shortfall_impressions", pa.int64(), "max(goal − delivered, 0).", "impressions"),
    _field("shortfall_reason", pa.string(),
           "Why the day fell short: none (within 1 % of the goal), supply (too few slots for"
           " the targeting), competition, frequency_cap, daily_cap, budget, or pacing (the"
           " pacer's daily error, nothing else binding)."),
])


CONVERSION_TRUTH_SCHEMA = pa.schema([
    _field("line_item_id", pa.int64(), "Line item (line_items.id)."),
    _field("day", pa.date32(),
           "UTC date of the day (every day the flight touches; first and last may be partial).",
           "UTC"),
    _field("seed", pa.int64(),
           "Seed of the run that drew these values (--seed): same seed, same truth."),
    _field("baseline_rate", pa.float64(),
           "b: conversions per household per day that would happen without ads, drawn per"
           " advertiser (log-uniform 1.2e-4 to 1.2e-3; the same for all its line items).",
           "conversions per household per day"),
    _field("hill_half_saturation", pa.float64(),
           "K of the Hill response H(f) = f^s / (f^s + K^s) to the average frequency f: the"
           " frequency at half the saturated effect (uniform 1.5-6, per line item).",
           "impressions per household"),
    _field("hill_slope", pa.float64(),
           "s of the Hill response (uniform 1-3 per line item; above 1 an S-curve).", "shape"),
    _field("adstock_decay", pa.float64(),
           "λ of the geometric adstock A_d = E_d + λ·A_(d−1): the share of a day's effect"
           " carried to the next day (uniform 0.3-0.8 per line item, TV-like, Robyn).",
           "share 0-1 per day"),
    _field("incremental_rate_max", pa.float64(),
           "r: incremental conversions per exposed household per day of adstock at saturation"
           " (log-uniform 1e-4 to 1.2e-3 per line item, × the segment conversion lift of its"
           " audience segments: 2 for in_market, 1.5 for retailer, the product over kinds,"
           " adsgen.domain.markets.SEGMENT_CONVERSION_LIFT).", "conversions per household"),
    _field("effective_impressions", pa.float64(),
           "E_d: the day's valid impressions weighted by quality, Σ (impressions − invalid) × q"
           " over its performance rows, q = the creative's completion probability on the device"
           " for video (creative_truth.p_complete, lowered by its wear-out), p_viewable for"
           " static formats. Invalid traffic counts 0.",
           "impressions"),
    _field("adstock", pa.float64(),
           "A_d = E_d + adstock_decay × A_(d−1) (A before the flight = 0): the exposure still"
           " at work on the day.", "impressions"),
    _field("average_frequency", pa.float64(),
           "f_d: the line item's impressions so far ÷ its cumulative reach summed over devices"
           " at the day's last flight hour (0 before anyone is reached).",
           "impressions per household"),
    _field("exposed_households", pa.int64(),
           "P_d: households exposed so far, min(Σ over devices of cumulative reach,"
           " targetable_households), rounded down: the pool whose baseline converters the ad"
           " server credits.", "households"),
    _field("targetable_households", pa.int64(),
           "N: the line item's targetable households over all its devices"
           " (ground_truth.targetable_households): the baseline's population. With a holdout"
           " or PSA experiment it includes the control group (ground_truth's is the treated"
           " rest, experiment_truth.control_share); a geo experiment's N is its treated geos'.",
           "households"),
    _field("baseline_expected", pa.float64(),
           "B_d = baseline_rate × c_d × (flight hours of the day / 24) × N, c_d = the"
           " platform's weekday multiplier (mean 1) × its season demand multiplier of the day:"
           " expected conversions without ads.", "conversions"),
    _field("baseline_conversions", pa.int64(),
           "Baseline conversions drawn: Poisson(baseline_expected).", "conversions"),
    _field("incremental_expected", pa.float64(),
           "I_d = incremental_rate_max × H(f_d) × A_d / f_d (0 when f_d = 0): expected"
           " conversions the ads caused that day (A_d / f_d exposed households, each converting"
           " at r·H(f_d)). Rises with frequency and saturates per household; 0 without"
           " exposure.", "conversions"),
    _field("incremental_conversions", pa.int64(),
           "Incremental conversions drawn: Poisson(incremental_expected).", "conversions"),
    _field("attributed_expected", pa.float64(),
           "Expected attributed conversions of the day: the Poisson means of its performance"
           " rows' click_conversions + view_conversions, = T_d = I_d + baseline_rate × c_d ×"
           " (flight hours of the day / 24) × P_d (the day's incremental conversions plus the"
           " baseline converters among the exposed households) when a touch within the"
           " attribution window reaches the day, else 0 (nothing to credit). The rows split it"
           " over click/view, creatives, devices and hours as the lagged touches do.",
           "conversions"),
    _field("attributed_conversions", pa.int64(),
           "What the ad server reported that day: SUM(performance.click_conversions +"
           " performance.view_conversions) over the line item's rows of the UTC day, exactly.",
           "conversions"),
    _field("overcount_expected", pa.float64(),
           "attributed_expected − incremental_expected: what last-touch attribution over-counts"
           " in expectation (positive on average; mostly exposed baseline converters).",
           "conversions"),
    _field("overcount", pa.int64(),
           "attributed_conversions − incremental_conversions (may be negative on a day).",
           "conversions"),
])


def _summed(name: str) -> pa.Field:
    """A daily column: the hourly column summed over the line item × device × UTC day."""
    field = PERFORMANCE_SCHEMA.field(name)
    _, unit = describe(field)
    return _field(name, field.type,
                  f"SUM(performance.{name}) over the line item's rows of the device and UTC"
                  " day, exactly.", unit)


DAILY_SCHEMA = _with_platform([
    _field("line_item_id", pa.int64(), "Line item (line_items.id)."),
    _field("device", pa.string(), "Device class: ctv, mobile or desktop."),
    _field("day", pa.date32(), "UTC date of the day (first and last may be partial).", "UTC"),
    *(_summed(name) for name in (
        "impressions", "starts", "first_quartile", "midpoint", "third_quartile", "completes",
        "measurable", "viewable", "invalid", "clicks", "qr_scans")),
    _field("click_conversions", pa.int64(),
           "Click-through conversions the ad server attributed that day (last touch, within"
           " the 168 h window): SUM(performance.click_conversions) of the line item × device ×"
           " day.", "conversions"),
    _field("view_conversions", pa.int64(),
           "View-through conversions attributed that day (no click, same window):"
           " SUM(performance.view_conversions).", "conversions"),
    _summed("spend_micros"),
    _field("seed", pa.int64(),
           "Seed of the run that drew these values (--seed): same seed, same truth."),
    _field("incremental_conversions", pa.int64(),
           "Truth: the conversions the ads on this device caused that day — the line item's"
           " conversion_truth.incremental_conversions of the day split over its devices by"
           " keyed systematic sampling (each device ⌊n·p⌋ or ⌈n·p⌉) with shares p = A_d,c ÷"
           " A_d (A_d,c = E_d,c + adstock_decay × A_(d−1),c: the device's own"
           " quality-weighted valid impressions, adstocked). The"
           " devices' rows add up to conversion_truth.incremental_conversions exactly."
           " click_conversions + view_conversions − incremental_conversions is what"
           " attribution over-counts.", "conversions"),
    _field("value_per_conversion_micros", pa.int64(),
           "v: the value of one conversion to the advertiser, drawn per advertiser"
           " (log-uniform 100-1000 units of its currency, whole cents).",
           "micros per conversion"),
    _field("incremental_value_micros", pa.int64(),
           "Truth: incremental_conversions × value_per_conversion_micros, the contribution;"
           " ROI = SUM(incremental_value_micros) ÷ SUM(spend_micros).", "micros"),
    _field("marginal_value_micros", pa.int64(),
           "Truth: the incremental value 1 % more spend would add, ÷ 0.01, from the model"
           " itself: every impression × 1.01 gives adstock × 1.01 and each device's reach ×"
           " R(1.01·O) ÷ R(O) (NBD curve of the offered impressions O, ground_truth"
           ".exposure_shape), so frequency f' = 1.01·f·R ÷ R' and I'_d = r·H(f')·1.01·A_d ÷ f';"
           " round((I'_d − I_d) × A_d,c ÷ A_d × v ÷ 0.01). SUM(marginal_value_micros) ÷"
           " SUM(spend_micros) over any rows is their marginal ROI, d incremental value ÷ d"
           " spend (below the ROI where frequency saturates).", "micros"),
])

MMM_CHANNELS: tuple[str, ...] = ("ctv", "desktop", "mobile")
"""The MMM table's channels: the device classes (one platform per run), in device order."""

_CHANNEL_PARTS = {
    "spend": ("spend_micros", "Media cost in the channel: the geo's share of"
              " daily.spend_micros, in proportion to its valid impressions.", "micros"),
    "impressions": ("impressions", "Impressions served in the channel (invalid included):"
                    " the line item's weekly valid impressions split over its geos by keyed"
                    " systematic sampling on their households (each geo ⌊n·p⌋ or ⌈n·p⌉),"
                    " invalid ones in proportion.",
                    "impressions"),
    "attributed": ("attributed_conversions", "Click- plus view-through conversions the ad"
                   " server credited to the channel (daily, split like the valid"
                   " impressions).", "conversions"),
    "incremental": ("incremental_conversions", "Truth: the conversions the channel caused"
                    " (daily.incremental_conversions of the week split over geos by keyed"
                    " systematic sampling on their valid impressions): its contribution.",
                    "conversions"),
    "incremental_value": ("incremental_value_micros", "Truth: incremental conversions × the"
                          " advertiser's value per conversion; ROI of the channel ="
                          " SUM(this) ÷ SUM(its spend_micros).", "micros"),
    "marginal_value": ("marginal_value_micros", "Truth: daily.marginal_value_micros split"
                       " like spend; marginal ROI of the channel = SUM(this) ÷ SUM(its"
                       " spend_micros).", "micros"),
}
MMM_CHANNEL_COLUMNS: dict[str, dict[str, str]] = {
    channel: {part: f"{channel}_{column}" for part, (column, _, _) in _CHANNEL_PARTS.items()}
    for channel in MMM_CHANNELS
}
"""channel → part (spend, impressions, attributed, incremental, incremental_value,
marginal_value) → its column in MMM_SCHEMA."""

MMM_SCHEMA = pa.schema([
    _field("advertiser_id", pa.int64(), "Advertiser (advertisers.id): the brand modelled."),
    _field("week", pa.date32(),
           "Monday of the ISO week (UTC days Monday to Sunday; the flight's first and last"
           " weeks may be partial).", "UTC"),
    _field("geo", pa.string(), "Served geo of the platform (ISO 3166 country code)."),
    _field("currency", pa.string(),
           "The advertiser's currency: every *_micros column is micros of it."),
    _field("value_per_conversion_micros", pa.int64(),
           "v: what one conversion is worth to the advertiser (daily"
           ".value_per_conversion_micros): known to the brand, so not a truth.",
           "micros per conversion"),
    _field("demand_index", pa.float64(),
           "Control: mean over the week's seven days of the platform calendar's demand in the"
           " geo (weekday multiplier, mean 1, × season × holiday × event demand): the c_d the"
           " baseline follows, as a brand's demand index would show it.", "multiplier"),
    _field("holiday_days", pa.int64(),
           "Control: days of the week with a holiday of the platform's calendar in the geo.",
           "days"),
    _field("households", pa.int64(),
           "Control: households of the platform in the geo (its size).", "households"),
    _field("conversions", pa.int64(),
           "KPI: the advertiser's conversions in the geo and week, baseline_conversions +"
           " the channels' incremental conversions (what its own sales data would show).",
           "conversions"),
    _field("conversion_value_micros", pa.int64(),
           "KPI: conversions × value_per_conversion_micros.", "micros"),
    _field("market_share", pa.float64(),
           "Truth: m, the share of the geo's households in the advertiser's market (log-uniform"
           " 5-50 % per advertiser).", "share 0-1"),
    _field("baseline_expected", pa.float64(),
           "Truth: expected conversions without ads, b × m × households × 7 × demand_index"
           " (b = conversion_truth.baseline_rate, the advertiser's): the brand's whole"
           " market every day of the week, whether or not a flight runs; so it is not the sum"
           " of its line items' conversion_truth baselines, which count only their targeted"
           " households on their flight days.", "conversions"),
    _field("baseline_conversions", pa.int64(),
           "Truth: Poisson(baseline_expected), keyed by (seed, advertiser, week, geo).",
           "conversions"),
    *(_field(MMM_CHANNEL_COLUMNS[channel][part], pa.int64(),
             f"{channel}: {text}", unit)
      for channel in MMM_CHANNELS for part, (_, text, unit) in _CHANNEL_PARTS.items()),
])

_ARM_POPULATION = (
    "holdout and psa: the arm's households exposed over the flight — treatment: reached by"
    " the ads (reach over all devices, the flight's `all` row of `reach`); control: the"
    " control households that would have been exposed (holdout: the ghost exposures the ad"
    " server logged; psa: those served the public-service ad), Binomial(control households,"
    " treatment exposed ÷ treatment households). geo: every targetable household of the"
    " arm's geos (intent to treat)")

EXPERIMENT_OUTCOMES_SCHEMA = pa.schema([
    _field("line_item_id", pa.int64(), "Line item with an experiment (line_items.id)."),
    _field("arm", pa.string(), "treatment (served the line item's ads) or control."),
    _field("experiment_type", pa.string(),
           "holdout (ghost ads: control not served), psa (control served a public-service ad)"
           " or geo (control geos not served); line_items.experiment_type."),
    _field("geos", pa.string(),
           "Geo experiments: the arm's geos, comma-separated ISO codes; null for holdout and"
           " psa (both arms share the line item's geos)."),
    _field("households", pa.int64(),
           "The households an analyst compares, " + _ARM_POPULATION + ".", "households"),
    _field("conversions", pa.int64(),
           "Conversions of those households over the flight's UTC days, whatever caused them"
           " (what a lift study observes, not what attribution credits): treatment = its share"
           " of conversion_truth.baseline_conversions + every incremental_conversions of the"
           " line item; control = its share of the baseline only (geo: Poisson(baseline rate ×"
           " households) in the control geos, which conversion_truth does not cover).",
           "conversions"),
    _field("impressions", pa.int64(),
           "treatment: SUM(performance.impressions) of the line item; control: the PSA"
           " impressions bought for it (psa: treatment impressions × control ÷ treatment"
           " households, rounded; they are not in performance), 0 for holdout and geo.",
           "impressions"),
    _field("spend_micros", pa.int64(),
           "treatment: SUM(performance.spend_micros); control: what the PSA impressions cost"
           " at the line item's CPM (valid ones, as performance bills), on top of its budget;"
           " 0 for holdout and geo.", "micros"),
])

EXPERIMENT_TRUTH_SCHEMA = pa.schema([
    _field("line_item_id", pa.int64(), "Line item with an experiment (line_items.id)."),
    _field("seed", pa.int64(),
           "Seed of the run that drew these values (--seed): same seed, same truth."),
    _field("experiment_type", pa.string(), "holdout, psa or geo (line_items.experiment_type)."),
    _field("control_share", pa.float64(),
           "Share held out: of the line item's targetable households (holdout, psa: control"
           " households = round(control_share × N), the rest are its audience), or of its"
           " targeted geos (geo, when control_geos is not given).", "share 0-1"),
    _field("treatment_households", pa.int64(),
           "experiment_outcomes.households of the treatment arm.", "households"),
    _field("control_households", pa.int64(),
           "experiment_outcomes.households of the control arm.", "households"),
    _field("baseline_rate", pa.float64(),
           "β: expected baseline conversions per household over the flight, the same in both"
           " arms = Σ conversion_truth.baseline_expected ÷ the population it was drawn over"
           " (holdout, psa: treatment + control households of the line item; geo: the treated"
           " geos' targetable households).", "conversions per household"),
    _field("baseline_expected", pa.float64(),
           "β × treatment_households: the treatment arm's expected conversions without ads.",
           "conversions"),
    _field("incremental_expected", pa.float64(),
           "Σ conversion_truth.incremental_expected of the line item: the conversions the ads"
           " caused in expectation (all in the treatment arm).", "conversions"),
    _field("incremental_conversions", pa.int64(),
           "Σ conversion_truth.incremental_conversions: the incremental conversions drawn.",
           "conversions"),
    _field("true_lift", pa.float64(),
           "Relative lift: incremental_expected ÷ baseline_expected, the treatment arm's"
           " expected conversions over what they would have been without the ads, minus 1 (0:"
           " no effect); the value `adsgen score --metric lift` scores.", "ratio"),
    _field("true_lift_per_household", pa.float64(),
           "Absolute lift: incremental_expected ÷ treatment_households = E[treatment"
           " conversions ÷ households] − E[control conversions ÷ households], what a"
           " difference in means estimates (`adsgen score --metric lift_per_household`).",
           "conversions per household"),
    _field("minimum_detectable_lift", pa.float64(),
           "The smallest relative lift a two-sided test at α = 0.05 detects with 80 % power at"
           " these arm sizes: (z₀.₉₇₅ + z₀.₈) × √(β × (1/treatment + 1/control households)) ÷ β"
           " = 2.802 × √((1/n_t + 1/n_c) ÷ β) (conversion counts Poisson per household).",
           "ratio"),
    _field("power", pa.float64(),
           "Probability that this test (difference in means, two-sided α = 0.05) detects the"
           " true lift: Φ(δ ÷ se − 1.96), δ = true_lift_per_household, se = √((β + δ) ÷ n_t +"
           " β ÷ n_c).", "probability 0-1"),
])


def _pod_count(name: str) -> pa.Field:
    """A pod_delivery count: its part of the performance column of the same name."""
    _, unit = describe(PERFORMANCE_SCHEMA.field(name))
    return _field(name, pa.int64(),
                  f"The slot position's part of SUM(performance.{name}) over the line item ×"
                  " creative × device × UTC day; the positions' rows add up to it exactly.",
                  unit)


POD_DELIVERY_SCHEMA = pa.schema([
    _field("line_item_id", pa.int64(), "Line item (line_items.id)."),
    _field("creative_id", pa.int64(), "Creative (creatives.id): a video creative."),
    _field("device", pa.string(), "Device class: ctv, mobile or desktop."),
    _field("day", pa.date32(), "UTC date of the day (first and last may be partial).", "UTC"),
    _field("break_position", pa.string(),
           "Where the break runs: pre_roll, mid_roll or post_roll (the line item's bought"
           " position, line_items.position)."),
    _field("slot_position", pa.string(),
           "The ad's place in its pod: first, middle or last (a pod of one ad has only a first"
           " ad); shares follow the platform's ads_per_break."),
    *(_pod_count(name) for name in FUNNEL),
])


def _market_count(name: str, what: str, unit: str) -> pa.Field:
    """A market_delivery count: the market's part of the line item's UTC day."""
    return _field(name, pa.int64(),
                  f"The market's part of {what} over the line item's UTC day; the markets' rows"
                  " add up to it exactly.", unit)


MARKET_DELIVERY_SCHEMA = pa.schema([
    _field("line_item_id", pa.int64(),
           "Line item (line_items.id): one that targets DMAs or states."),
    _field("day", pa.date32(), "UTC date of the day (first and last may be partial).", "UTC"),
    _field("market", pa.string(),
           "Where the impressions ran: a Nielsen DMA code (e.g. 501) in the US, the country"
           " code for a targeted geo outside the US."),
    _field("geo", pa.string(), "Country of the market (ISO 3166-1 alpha-2): US for a DMA."),
    _field("dma", pa.string(),
           "Nielsen DMA code (null outside the US): one of the line item's DMAs, or a DMA of"
           " its states (a DMA counts wholly in its principal state)."),
    _field("dma_name", pa.string(), "The DMA's name (null outside the US)."),
    _field("state", pa.string(),
           "USPS code of the DMA's principal state (null outside the US): GROUP BY state"
           " gives delivery by state."),
    _market_count("impressions", "SUM(performance.impressions)", "impressions"),
    _market_count("valid_impressions", "SUM(performance.impressions − performance.invalid)",
                  "impressions"),
    _market_count("completes", "SUM(performance.completes)", "impressions"),
    _market_count("clicks", "SUM(performance.clicks)", "clicks"),
    _market_count("conversions",
                  "SUM(performance.click_conversions + performance.view_conversions)",
                  "conversions"),
    _market_count("spend_micros", "SUM(performance.spend_micros)", "micros"),
])


# --- the registry of fact tables -----------------------------------------------------------


CAMPAIGN_REACH_SCHEMA = pa.schema([
    _field("advertiser_id", pa.int64(), "Advertiser of the campaign (advertisers.id)."),
    _field("campaign_id", pa.int64(), "Campaign (campaigns.id)."),
    _field("platform", pa.string(),
           "Platform of the row's line items (line_items.platform), or `all`: the campaign"
           " over every platform it buys on, households de-duplicated across platforms."),
    _field("period", pa.string(),
           "`day`: the UTC day in `day`; `flight`: the campaign's whole flight (day = the last"
           " flight day of its line items)."),
    _field("day", pa.date32(), "UTC date of the day (flight rows: the campaign's last day).",
           "UTC"),
    _field("line_items", pa.int64(),
           "The campaign's line items on the platform (`all`: on every platform) with reach"
           " rows in the period.", "line items"),
    _field("impressions", pa.int64(),
           "Impressions of those line items in the period (SUM of reach.impressions over"
           " their `all`-device rows).", "impressions"),
    _field("households", pa.int64(),
           "The platform's households (`all`: the households subscribing to at least one of"
           " the campaign's platforms, by the overlap model of adsgen.world.platforms).",
           "households"),
    _field("targetable_households", pa.int64(),
           "Households the campaign's line items on the platform can reach: the largest"
           " reach.targetable_households among them (`all`: de-duplicated across its"
           " platforms). Their share of `households` is the targeted universe the overlap"
           " model draws the platforms' reach from (adsgen.world.platforms).", "households"),
    _field("reach_hazard", pa.int64(),
           "Truth: Σ over the line items of −ln(1 − reach ÷ households), in 10^-12 units —"
           " the additive form of random duplication within the platform (0 on `all` rows):"
           " reach = households × (1 − exp(−reach_hazard × 10^-12)).", "10^-12"),
    _field("reach", pa.int64(),
           "Distinct households the campaign reached on the platform in the period (its line"
           " items de-duplicated at random within the platform); on `all` rows de-duplicated"
           " across platforms too: a household reached on two platforms counts once. Never"
           " SUM it over platforms: that is reach_sum.", "households"),
    _field("reach_sum", pa.int64(),
           "`all` rows: Σ of the platform rows' reach (what adding the platforms' reports"
           " gives); platform rows: their reach.", "households"),
    _field("overlap", pa.int64(),
           "Truth of the overlap. `all` rows: reach_sum − reach, households counted on more"
           " than one platform (each extra platform counts again); platform rows: households"
           " reached on this platform that the campaign also reached on another of its"
           " platforms.", "households"),
])


@dataclass(frozen=True, slots=True)
class FactTable:
    """One table the simulation emits, and everything its consumers need to know about it.

    `key`: the columns that identify a row (the database's primary key). Every table but a
    world-level one has `line_item_id`, so the rows of a line item can be replaced.
    `partition`: a timestamp (or date) column whose UTC date splits the files into
    `<name>/date=YYYY-MM-DD/` (None: `<name>/part-NNNNNN.<ext>`). `nullable`: the columns
    that may hold nulls (the others are NOT NULL in databases). `description`, `grain` and
    `joins` document the table (`adsgen schema`, docs/data-dictionary.md, the database's
    table comment).
    """

    name: str
    schema: pa.Schema
    key: tuple[str, ...]
    description: str
    grain: str
    joins: tuple[str, ...] = ()
    partition: str | None = None
    nullable: frozenset[str] = frozenset()
    summed: bool = False
    """Rows are sums over line items (no line_item_id): a batch or block gives partial rows
    that `simulate.mmm.combine` adds by key; writers combine before writing."""

    def __post_init__(self) -> None:
        missing = [c for c in (*self.key, *self.nullable) if c not in self.schema.names]
        if missing:
            raise ValueError(f"fact table {self.name!r} has no column(s) {missing}")
        if self.partition is not None and not (
            pa.types.is_timestamp(kind := self.schema.field(self.partition).type)
            or pa.types.is_date32(kind)
        ):
            raise ValueError(f"fact table {self.name!r}: partition column {self.partition!r}"
                             " must be a timestamp or a date")

    @property
    def files(self) -> str:
        """Where its rows go in a generated folder (Parquet names; other formats alike)."""
        if self.partition is None:
            return f"{self.name}/part-NNNNNN.parquet"
        return f"{self.name}/date=YYYY-MM-DD/part-NNNNNN.parquet"

    def empty(self) -> pa.Table:
        """No rows, this schema."""
        return self.schema.empty_table()


FACT_TABLES: dict[str, FactTable] = {
    table.name: table
    for table in (
        FactTable(
            name="performance",
            schema=PERFORMANCE_SCHEMA,
            key=("line_item_id", "creative_id", "hour", "device"),
            partition="hour",
            description=(
                "Hourly delivery: what each line item's creatives delivered on each device in"
                " each UTC hour of its flight — impressions, the video funnel, viewability,"
                " invalid traffic, clicks, QR scans, conversions, running reach and spend."
            ),
            grain=(
                "one row per line_item_id × creative_id × device × hour: every hour of the"
                " flight × servable creative × targeted device of each line item that can"
                " deliver (active, with a servable creative), hours without delivery included"
                " (zeros); a line item that cannot deliver has no rows"
            ),
            joins=(
                "creatives ON creatives.line_item_id = performance.line_item_id AND"
                " creatives.id = performance.creative_id",
                "line_items ON line_items.id = performance.line_item_id",
                "ground_truth ON ground_truth.line_item_id = performance.line_item_id AND"
                " ground_truth.device = performance.device",
            ),
        ),
        FactTable(
            name="ground_truth",
            schema=GROUND_TRUTH_SCHEMA,
            key=("line_item_id", "device"),
            nullable=frozenset({"industry"}),
            description=(
                "The truth behind the performance rows, per line item and device: the true"
                " per-impression probability of every event, the audience and the conversion"
                " lag the simulation drew, and the share of conversions landing inside the"
                " flight, so a model fitted on performance can be scored against it."
            ),
            grain="one row per line item × device that has performance rows",
            joins=(
                "line_items ON line_items.id = ground_truth.line_item_id",
                "performance ON performance.line_item_id = ground_truth.line_item_id AND"
                " performance.device = ground_truth.device",
            ),
        ),
        FactTable(
            name="creative_truth",
            schema=CREATIVE_TRUTH_SCHEMA,
            key=("line_item_id", "creative_id", "device"),
            nullable=frozenset({"duration_s"}),
            description=(
                "The truth per creative: the true per-impression probability of every event"
                " for each creative of a line item on each device — the values the funnel"
                " draws that creative's rows with, before ground_truth mixes them by rotation"
                " weight — with the creative's rotation weight, duration, format and wear-out"
                " rate (how its CTR and completion fall as households see it again), so"
                " creative-level models (wear-out, duration, format, A/B tests) can be scored."
            ),
            grain="one row per line item × servable creative × device that has performance"
                  " rows (each performance series)",
            joins=(
                "creatives ON creatives.line_item_id = creative_truth.line_item_id AND"
                " creatives.id = creative_truth.creative_id",
                "performance ON performance.line_item_id = creative_truth.line_item_id AND"
                " performance.creative_id = creative_truth.creative_id AND"
                " performance.device = creative_truth.device",
                "ground_truth ON ground_truth.line_item_id = creative_truth.line_item_id AND"
                " ground_truth.device = creative_truth.device",
            ),
        ),
        FactTable(
            name="conversion_truth",
            schema=CONVERSION_TRUTH_SCHEMA,
            key=("line_item_id", "day"),
            partition="day",
            description=(
                "The causal truth of conversions per line item and UTC day: baseline (would"
                " have happened without ads), incremental (caused by the ads: Hill response to"
                " frequency, geometric adstock, quality-weighted valid impressions) and"
                " attributed (what the performance rows report, last touch within the"
                " window), with the over-count and the parameters that drew them."
            ),
            grain="one row per line_item_id × UTC day its flight touches (line items with"
                  " performance rows)",
            joins=(
                "line_items ON line_items.id = conversion_truth.line_item_id",
                "performance ON performance.line_item_id = conversion_truth.line_item_id AND"
                " CAST(performance.hour AS DATE) = conversion_truth.day (UTC)",
            ),
        ),
        FactTable(
            name="daily",
            schema=DAILY_SCHEMA,
            key=("line_item_id", "device", "day"),
            partition="day",
            description=(
                "The daily grain: each line item's hourly performance summed per device and"
                " UTC day (exactly), with attribution as reported (click- and view-through)"
                " next to the truth: incremental conversions, their value and the marginal"
                " value of more spend."
            ),
            grain="one row per line_item_id × device × UTC day that has performance rows",
            joins=(
                "line_items ON line_items.id = daily.line_item_id",
                "conversion_truth ON conversion_truth.line_item_id = daily.line_item_id AND"
                " conversion_truth.day = daily.day",
                "ground_truth ON ground_truth.line_item_id = daily.line_item_id AND"
                " ground_truth.device = daily.device",
            ),
        ),
        FactTable(
            name="mmm",
            schema=MMM_SCHEMA,
            key=("advertiser_id", "week", "geo"),
            summed=True,
            description=(
                "The marketing-mix grain: per advertiser, ISO week and geo, the KPI"
                " (conversions and value), controls, and per channel (device) spend,"
                " impressions and attributed conversions, with the truth: baseline, each"
                " channel's incremental conversions and value, and its marginal value."
            ),
            grain="one row per advertiser × ISO week (UTC) × served geo its line items target,"
                  " over the weeks their flights touch",
            joins=("advertisers ON advertisers.id = mmm.advertiser_id",),
        ),
        FactTable(
            name="experiment_outcomes",
            schema=EXPERIMENT_OUTCOMES_SCHEMA,
            key=("line_item_id", "arm"),
            nullable=frozenset({"geos"}),
            description=(
                "What an analyst of a lift experiment sees, per line item with an experiment"
                " (`experiment:` in its template) and arm: the households compared, their"
                " conversions over the flight and what the arm cost. Ghost-ad holdouts and geo"
                " controls are never served, so performance holds the treatment only; a PSA"
                " control's impressions and spend are here, not in performance."
            ),
            grain="one row per line_item_id × arm (treatment, control), line items with an"
                  " experiment and performance rows",
            joins=(
                "line_items ON line_items.id = experiment_outcomes.line_item_id",
                "experiment_truth ON experiment_truth.line_item_id ="
                " experiment_outcomes.line_item_id",
            ),
        ),
        FactTable(
            name="experiment_truth",
            schema=EXPERIMENT_TRUTH_SCHEMA,
            key=("line_item_id",),
            description=(
                "The known answer of each lift experiment: true relative and absolute lift,"
                " true incremental conversions, the baseline, and a power note (the minimum"
                " detectable lift at 80 % power, α 0.05, and the power to detect the true"
                " lift at the arms' sizes)."
            ),
            grain="one row per line item with an experiment and performance rows",
            joins=(
                "line_items ON line_items.id = experiment_truth.line_item_id",
                "experiment_outcomes ON experiment_outcomes.line_item_id ="
                " experiment_truth.line_item_id",
                "conversion_truth ON conversion_truth.line_item_id ="
                " experiment_truth.line_item_id",
            ),
        ),
        FactTable(
            name="reach",
            schema=REACH_SCHEMA,
            key=("line_item_id", "device", "period", "day"),
            description=(
                "Reach and frequency of each line item: per device and de-duplicated over"
                " devices (`all`), per UTC day and over the whole flight — households reached,"
                " cumulative reach, average frequency and the frequency distribution 1 … 10+,"
                " from the households of the shared world (NBD exposure)."
            ),
            grain=(
                "one row per line_item_id × device (its devices and `all`) × period: each UTC"
                " day of the flight (`day`) and the whole flight (`flight`)"
            ),
            joins=(
                "line_items ON line_items.id = reach.line_item_id",
                "ground_truth ON ground_truth.line_item_id = reach.line_item_id AND"
                " ground_truth.device = reach.device",
            ),
        ),
        FactTable(
            name="pacing",
            schema=PACING_SCHEMA,
            key=("line_item_id", "day"),
            description=(
                "Delivery diagnostics per line item and day: the pacer's goal, the slots won,"
                " what the frequency cap, the daily cap and the budget took, what competition"
                " took, and why the day fell short — under-delivery explained by the data."
            ),
            grain="one row per line_item_id × day of its flight in its campaign's time zone",
            joins=("line_items ON line_items.id = pacing.line_item_id",),
        ),
        FactTable(
            name="pod_delivery",
            schema=POD_DELIVERY_SCHEMA,
            key=("line_item_id", "creative_id", "device", "day", "break_position",
                 "slot_position"),
            partition="day",
            description=(
                "Ad-pod positions: each video creative's daily delivery split by break"
                " position (pre-, mid-, post-roll) and slot position in the pod (first,"
                " middle, last), with the video funnel — completion falls as a pod goes on"
                " and on post-roll. The positions add up to the performance rows exactly."
            ),
            grain="one row per line_item_id × video creative × device × UTC day × slot"
                  " position with impressions (static formats are not in pods)",
            joins=(
                "line_items ON line_items.id = pod_delivery.line_item_id",
                "creatives ON creatives.line_item_id = pod_delivery.line_item_id AND"
                " creatives.id = pod_delivery.creative_id",
                "daily ON daily.line_item_id = pod_delivery.line_item_id AND"
                " daily.device = pod_delivery.device AND daily.day = pod_delivery.day",
            ),
        ),
        FactTable(
            name="market_delivery",
            schema=MARKET_DELIVERY_SCHEMA,
            key=("line_item_id", "day", "market"),
            partition="day",
            nullable=frozenset({"dma", "dma_name", "state"}),
            description=(
                "Delivery by market: each DMA- or state-targeted line item's UTC day split"
                " over the markets its audience lies in (its DMAs, or the DMAs of its"
                " states; its other geos), in proportion to their households (Nielsen TV"
                " homes), by keyed systematic sampling. The markets add up to the"
                " performance rows of the line item's day exactly."
            ),
            grain="one row per line_item_id × UTC day × market with impressions or conversions,"
                  " for line items that target DMAs or states (others have no rows)",
            joins=(
                "line_items ON line_items.id = market_delivery.line_item_id",
                "targeting ON targeting.line_item_id = market_delivery.line_item_id AND"
                " targeting.key IN ('dma', 'state')",
            ),
        ),
        FactTable(
            name="campaign_reach",
            schema=CAMPAIGN_REACH_SCHEMA,
            key=("campaign_id", "platform", "period", "day"),
            summed=True,
            description=(
                "Cross-platform reach per campaign: per platform it buys on and de-duplicated"
                " over all of them (`all`), per UTC day and over the flight — households"
                " reached, their sum over platforms and the truth of the overlap (households"
                " on several platforms: adsgen.world.platforms)."
            ),
            grain=(
                "one row per campaign × platform (each it buys on, and `all`) × period: each"
                " UTC day of its line items' flights (`day`) and the whole flight (`flight`)"
            ),
            joins=(
                "campaigns ON campaigns.id = campaign_reach.campaign_id",
                "line_items ON line_items.campaign_id = campaign_reach.campaign_id AND"
                " line_items.platform = campaign_reach.platform",
            ),
        ),
    )
}
"""Fact table name → FactTable, in the order tables are written, loaded and documented."""
