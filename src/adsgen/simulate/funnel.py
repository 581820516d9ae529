"""The funnel of each row: creative rotation, video quartiles, viewability, IVT, clicks, QR scans.

Probabilities are set per series (line item × creative × device) from the line item's true
parameters: completion moves −0.2 points per second beyond 15 s (a 30 s spot ≈ 3 points
lower), −1 point on pre-roll (not above mid-roll, realism.md B), × the line item's post-roll
factor (0.62–0.78) on post-roll; the start→complete drop-off is lost 45 % before the first
quartile, 70 % before the midpoint and 88 % before the third quartile. Static formats
(pause ads, overlays) fire no video events. Clicks happen on mobile and desktop, and on CTV
only for interactive creatives; QR scans only on QR creatives and never on mobile (a phone
cannot scan its own screen).

Wear-out (`wearout`): a row scales its series' CTR and completion by its creative's wear-out
factors (`worn_probabilities`); the quartiles keep their share of the start→complete drop-off
of the worn completion, and the view-through share of conversion grows by what clicks lose,
so the conversion probability per valid impression is the series' whatever the wear.

Counts are a binomial chain — impressions → starts → first quartile → midpoint → third
quartile → complete; impressions → measurable → viewable; impressions → invalid; valid
impressions (impressions − invalid) → clicks, QR scans — so every funnel inequality holds on
every row by construction.

Invalid traffic (bots, fraud; MRC IVT guidelines) is filtered from billing and never clicks,
scans or converts: `p_click`, `p_qr_scan` and `p_conversion` are per *valid* impression.
It is still served and measured as it is today: the video events (starts … completes) and
measurability/viewability are drawn from all impressions, because verification vendors and
ad servers report them on every served impression (IVT is reported as a share of those same
impressions) and bots do "play" videos; so completion = completes / impressions and
viewability = viewable / measurable keep their industry meaning.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from adsgen.domain.enums import AdPosition
from adsgen.simulate.columns import FUNNEL
from adsgen.simulate.draws import (
    COUNTS,
    Real,
    binomial,
    hash_counters,
    line_item_keys,
    rehash,
)
from adsgen.simulate.grid import DEVICES, Grid
from adsgen.simulate.ground_truth import (
    DURATION_SLOPE,
    PRE_ROLL_SHIFT,
    QUARTILE_DROP,
    Params,
)
from adsgen.simulate.wearout import WearOut
from adsgen.world.positions import positions

__all__ = [
    "RowProbabilities",
    "SeriesProbabilities",
    "draw_funnel",
    "rotate",
    "row_counters",
    "series_index",
    "series_probabilities",
    "worn_probabilities",
]

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]
SeriesProbabilities = dict[str, F64]
RowProbabilities = dict[str, F64]
"""Per-row probabilities of the events wear-out moves (the rest stay per series)."""

_CTV = DEVICES.index(next(d for d in DEVICES if d.value == "ctv"))
_MOBILE = DEVICES.index(next(d for d in DEVICES if d.value == "mobile"))


def series_index(grid: Grid) -> tuple[I64, I64, I64]:
    """Line item, batch creative and device code of every series (line item × creative ×
    device, in that order: by line item, creative id, device rank)."""
    per_li = grid.n_cre * grid.n_dev
    li = np.repeat(np.arange(grid.n), per_li)
    local = positions(per_li)
    rank = local % grid.n_dev[li]
    cre = grid.cre_off[li] + local // grid.n_dev[li]
    return li, cre, grid.dev_codes[li, rank]


def series_probabilities(grid: Grid, params: Params) -> SeriesProbabilities:
    """Per-impression probabilities of every event, per series.

    Unconditional per served impression, except `p_click`, `p_qr_scan` and the conversion
    probabilities, which are per valid impression (invalid traffic never clicks, scans or
    converts); `p_click_conversion` is per click.
    """
    li, cre, dev = series_index(grid)
    position = np.array([i.position.value for i in grid.items])[li]
    video = grid.cre_video[cre]
    start = params.start[li, dev]
    completion = params.completion[li, dev] - DURATION_SLOPE * (grid.cre_duration[cre] - 15)
    completion = completion + np.where(position == AdPosition.pre_roll.value, PRE_ROLL_SHIFT, 0.0)
    completion = np.where(
        position == AdPosition.post_roll.value, completion * params.post_roll_factor[li], completion
    )
    completion = np.clip(completion, 0.01, start - 0.001)
    drop = start - completion
    on = video.astype(np.float64)
    clickable = (dev != _CTV) | grid.cre_interactive[cre]
    ctr = np.where(clickable, params.ctr[li, dev], 0.0)
    click_conversion = ctr * params.click_conversion[li]
    return {
        "p_start": on * start,
        "p_first_quartile": on * (start - QUARTILE_DROP[0] * drop),
        "p_midpoint": on * (start - QUARTILE_DROP[1] * drop),
        "p_third_quartile": on * (start - QUARTILE_DROP[2] * drop),
        "p_complete": on * completion,
        "p_measurable": params.measurable[li, dev],
        "p_viewable": params.measurable[li, dev] * params.viewable_given_measurable[li, dev],
        "p_invalid": params.invalid[li, dev],
        "p_click": ctr,
        "p_qr_scan": np.where(grid.cre_qr[cre] & (dev != _MOBILE), params.qr_rate[li], 0.0),
        "p_conversion": np.maximum(params.conversion_rate[li], click_conversion),
        "p_click_conversion": params.click_conversion[li] * (ctr > 0),  # per click
        "p_view_conversion": np.maximum(params.conversion_rate[li] - click_conversion, 0.0),
    }


def worn_probabilities(
    grid: Grid, probs: SeriesProbabilities, wear: WearOut
) -> RowProbabilities:
    """Per row: the probabilities its creative's wear-out changes (float64).

    Completion and CTR scale by the factors; each quartile loses its QUARTILE_DROP share of
    what completion lost (p_q = start − drop_q × (start − complete) stays true per row, so
    start ≥ q1 ≥ mid ≥ q3 ≥ complete), and view-through conversion takes over what clicks
    lost (p_view = p_conversion − p_click × p_click_conversion). Factors of exactly 1 give
    the series' values bit for bit.
    """
    series = grid.row_series
    complete = probs["p_complete"][series]
    worn_complete = complete * wear.completion
    lost = complete - worn_complete
    click = probs["p_click"][series] * wear.ctr
    worn: RowProbabilities = {
        name: probs[name][series] - share * lost
        for name, share in zip(("p_first_quartile", "p_midpoint", "p_third_quartile"),
                               QUARTILE_DROP, strict=True)
    }
    worn["p_complete"] = worn_complete
    worn["p_click"] = click
    worn["p_view_conversion"] = np.maximum(
        probs["p_conversion"][series] - click * probs["p_click_conversion"][series], 0.0)
    return worn


def row_counters(grid: Grid) -> NDArray[np.uint64]:
    """Counter of each row within its line item: creative id, hour offset, device code."""
    cre = grid.cre_id[grid.row_cre].astype(np.uint64) << np.uint64(26)
    cell = ((grid.cell_h << 2) | grid.cell_dev).astype(np.uint64)
    return cre | cell[grid.row_cell]


def rotate(grid: Grid, delivered: I64, weights: F64, *, seed: int) -> I64:
    """Split each cell's impressions over the line item's creatives (multinomial by weight).

    A chain of conditional binomials over creative ranks: rank j takes
    Binomial(remaining, w_j / Σ_{i≥j} w_i); the last rank takes the rest.
    """
    out = np.empty(grid.row_cell.size, dtype=np.int64)
    keys = line_item_keys(seed, "rotation", grid.li_id)
    cell_keys = keys[grid.cell_li]
    cell_counter = ((grid.cell_h << 2) | grid.cell_dev).astype(np.uint64)
    remaining = delivered.copy()
    cells = np.arange(grid.cell_li.size)
    n_cre_cell = grid.n_cre[grid.cell_li]
    per_li_cells = grid.hours * grid.n_dev
    local_cell = cells - grid.cells.first[grid.cell_li]
    for rank in range(int(grid.n_cre.max(initial=0))):
        sel = np.flatnonzero(n_cre_cell > rank)
        li = grid.cell_li[sel]
        rows = grid.rows.first[li] + rank * per_li_cells[li] + local_cell[sel]
        cre = grid.cre_off[li] + rank
        last = n_cre_cell[sel] == rank + 1
        owner_rest = _weight_from(grid, weights, rank)[li]
        p = np.where(last, 1.0, np.minimum(weights[cre] / np.maximum(owner_rest, 1e-300), 1.0))
        h = hash_counters(cell_keys[sel], cell_counter[sel] | (np.uint64(rank) << np.uint64(46)))
        left = remaining[sel]
        drawn = binomial(left.astype(COUNTS), p.astype(COUNTS), h).astype(np.int64)
        take = np.where(last, left, np.minimum(drawn, left))  # exact integers
        remaining[sel] = left - take
        out[rows] = take
    return out


def _weight_from(grid: Grid, weights: F64, rank: int) -> F64:
    """Per line item: the total weight of its creatives of rank >= `rank`."""
    owner = np.repeat(np.arange(grid.n), grid.n_cre)
    ranks = np.arange(owner.size) - grid.cre_off[owner]
    rest = np.bincount(owner, weights=np.where(ranks >= rank, weights, 0.0), minlength=grid.n)
    return rest.astype(np.float64)


def draw_funnel(
    grid: Grid,
    probs: SeriesProbabilities,
    impressions: I64,
    *,
    seed: int,
    worn: RowProbabilities | None = None,
) -> dict[str, I64]:
    """Every count column of the rows, drawn as binomial chains in float32.

    `worn` (from `worn_probabilities`) replaces the series' value of each event it names,
    row by row; without it every row draws with its series' probabilities.
    """
    keys = line_item_keys(seed, "funnel", grid.li_id)
    base = hash_counters(keys[grid.rows.gid], row_counters(grid))
    series = grid.row_series
    dtype = COUNTS
    n = impressions.astype(dtype)
    by_row = worn or {}

    def per_row(name: str) -> Real:
        if name in by_row:
            return by_row[name].astype(dtype)
        return probs[name].astype(dtype)[series]

    def conditional(numerator: str, denominator: str) -> Real:
        if numerator not in by_row and denominator not in by_row:
            return _ratio(probs[numerator], probs[denominator]).astype(dtype)[series]
        top = by_row[numerator] if numerator in by_row else probs[numerator][series]
        bottom = by_row[denominator] if denominator in by_row else probs[denominator][series]
        return _ratio(top, bottom).astype(dtype)

    draws: dict[str, Real] = {}
    previous, stage_prob = n, "impressions"
    chain = ("p_start", "p_first_quartile", "p_midpoint", "p_third_quartile", "p_complete")
    for variable, (prob, name) in enumerate(zip(chain, FUNNEL[1:], strict=True)):
        p = per_row(prob) if stage_prob == "impressions" else conditional(prob, stage_prob)
        previous = binomial(previous, p, rehash(base, variable))
        draws[name], stage_prob = previous, prob
    draws["measurable"] = binomial(n, per_row("p_measurable"), rehash(base, 5))
    draws["viewable"] = binomial(
        draws["measurable"], conditional("p_viewable", "p_measurable"), rehash(base, 6)
    )
    draws["invalid"] = binomial(n, per_row("p_invalid"), rehash(base, 7))
    valid = np.maximum(n - draws["invalid"], 0.0)  # invalid never clicks, scans or converts
    draws["clicks"] = _sparse_binomial(valid, per_row("p_click"), base, 8)
    draws["qr_scans"] = _sparse_binomial(valid, per_row("p_qr_scan"), base, 9)
    return _exact(impressions, draws)


def _ratio(top: F64, bottom: F64) -> F64:
    """top ÷ bottom, 0 where bottom is 0, at most 1: a conditional probability of the chain."""
    ratio = np.zeros_like(top)
    np.divide(top, bottom, out=ratio, where=bottom > 0)
    return np.minimum(ratio, 1.0)


def _exact(impressions: I64, draws: dict[str, Real]) -> dict[str, I64]:
    """Integer columns with every order invariant enforced exactly in int64.

    The draws already respect them; this guards float32 rounding of counts above 2**24.
    """
    out: dict[str, I64] = {}
    wider = impressions
    for name in FUNNEL[1:]:
        wider = out[name] = np.minimum(draws[name].astype(np.int64), wider)
    out["measurable"] = np.minimum(draws["measurable"].astype(np.int64), impressions)
    out["viewable"] = np.minimum(draws["viewable"].astype(np.int64), out["measurable"])
    out["invalid"] = np.minimum(draws["invalid"].astype(np.int64), impressions)
    valid = impressions - out["invalid"]
    for name in ("clicks", "qr_scans"):
        out[name] = np.minimum(draws[name].astype(np.int64), valid)
    return out


def _sparse_binomial(n: Real, p: Real, base: NDArray[np.uint64], var: int) -> Real:
    """Binomial draws only on rows whose probability (per row) is non-zero (clicks, scans)."""
    out = np.zeros_like(n)
    rows = np.flatnonzero(p > 0)
    if rows.size:
        out[rows] = binomial(n[rows], p[rows], rehash(base[rows], var))
    return out

