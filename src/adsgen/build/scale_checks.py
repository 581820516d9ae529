"""Bulk validation of a scale plan: the rules of the Pydantic schemas, on whole columns.

A plan at scale makes no Pydantic object per entity, so `check_plan` checks, in a few NumPy
passes, every rule the schemas would check one entity at a time: amounts between a cent and
the maximum, line-item budgets within their campaign's, daily caps within budgets and
inherited from the campaign, DV360 pacing and frequency-cap limits, CPMs in range, creatives
that fit their format and their line item, names present, short enough and unique where the
schemas want them unique. A broken rule is a planner bug or contradictory profiles:
ValueError, naming the rule and how many entities break it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from adsgen.build.scale_tables import FORMATS, MIMES, PACING_PERIODS, PACING_TYPES, Columns
from adsgen.domain.enums import AdFormat, FrequencyPeriod, PacingPeriod, PacingType
from adsgen.domain.fields import (
    CPM_MAX,
    CPM_MIN,
    MAX_AMOUNT,
    MAX_IMPRESSIONS_PER_CAP,
    NAME_MAX_LENGTH,
)

__all__ = ["check_plan"]

I64 = NDArray[np.int64]


def check_plan(cols: Columns) -> None:
    """Check every rule the schemas would, on whole columns; ValueError naming the first
    broken rule and how many entities break it (a planner bug or contradictory profiles)."""
    fmt = cols.li_format
    video = np.array([f.is_video for f in FORMATS])
    fits = np.array([[m in f.allowed_mime_types for m in MIMES] for f in FORMATS])
    allowed = np.zeros((len(FORMATS), 61), dtype=bool)
    for i, f in enumerate(FORMATS):
        allowed[i, sorted(f.allowed_durations)] = True
    duration = cols.cr_duration
    per_item = np.bincount(cols.cr_li, minlength=cols.li_adv.size)
    spent = np.bincount(cols.li_adv, weights=cols.li_amount, minlength=cols.count.size)
    asap, flight = PACING_TYPES.index(PacingType.asap), PACING_PERIODS.index(PacingPeriod.flight)
    li_cap_needed = cols.cap[cols.li_adv] >= 0
    names = [("advertiser", cols.name), ("campaign", cols.campaign_name),
             ("line item", cols.li_name), ("creative", cols.cr_name)]
    rules: list[tuple[str, Any]] = [
        ("a campaign amount is between a cent and the maximum",
         (cols.amount < 1) | (cols.amount > int(MAX_AMOUNT * 100))),
        ("a line item amount is at least a cent", cols.li_amount < 1),
        ("line item budgets fit their campaign's", spent > cols.amount),
        ("a daily cap is between a cent and the amount",
         np.concatenate([
             (cols.cap >= 0) & ((cols.cap < 1) | (cols.cap > cols.amount)),
             (cols.li_cap >= 0) & ((cols.li_cap < 1) | (cols.li_cap > cols.li_amount)),
         ])),
        ("a line item has a daily cap when its campaign has one",
         li_cap_needed & (cols.li_cap < 0)),
        ("asap pacing has a daily period",
         (cols.pacing_type == asap) & (cols.pacing_period == flight)),
        ("a CPM is within the allowed range",
         (cols.li_cpm < int(CPM_MIN * 100)) | (cols.li_cpm > int(CPM_MAX * 100))),
        ("a line item has a creative", per_item < 1),
        ("a creative has its line item's format", cols.cr_format != fmt[cols.cr_li]),
        ("a creative's MIME type fits its format", ~fits[cols.cr_format, cols.cr_mime]),
        ("a video creative has an allowed duration, a static one none",
         np.where(video[cols.cr_format],
                  ~allowed[cols.cr_format, np.clip(duration, 0, 60)] | (duration > 60),
                  duration >= 0)),
        ("an interactive creative has the interactive_video format",
         cols.cr_interactive & (cols.cr_format != FORMATS.index(AdFormat.interactive_video))),
        ("a targeting value is listed once per key",
         np.concatenate([_repeats(cols.li_devices), _repeats(cols.li_genres)])),
        ("a frequency cap is within DV360 limits",
         np.array([c is not None and not (1 <= c[0] <= MAX_IMPRESSIONS_PER_CAP
                                          and 1 <= c[2] <= FrequencyPeriod(c[1]).max_count)
                   for c in cols.cap_sets], dtype=bool)),
        *((f"a {kind} name has 1 to {NAME_MAX_LENGTH} characters",
           np.array([not 0 < len(n) <= NAME_MAX_LENGTH for n in values], dtype=bool))
          for kind, values in names),
        ("advertiser names are unique", np.array([len(set(cols.name)) != len(cols.name)])),
        ("line item names are unique within their campaign",
         np.array([len(set(zip(cols.li_adv.tolist(), cols.li_name, strict=True)))
                   != len(cols.li_name)])),
    ]
    for rule, bad in rules:
        broken = int(np.count_nonzero(bad))
        if broken:
            raise ValueError(f"scale plan breaks a rule: {rule} ({broken} of {np.size(bad)})")


def _repeats(matrix: I64) -> NDArray[np.bool_]:
    """Per row, whether a code other than the -1 pad appears twice."""
    if matrix.shape[1] < 2:
        return np.zeros(matrix.shape[0], dtype=bool)
    ordered = np.sort(matrix, axis=1)
    same = (ordered[:, 1:] == ordered[:, :-1]) & (ordered[:, 1:] >= 0)
    return np.asarray(same.any(axis=1))
