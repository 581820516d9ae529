"""A line item's experiment: the opt-in `experiment:` key of templates and its rules.

`experiment: {type: holdout, control_share: 0.1}` on a line item (an example's, a profile's
or one of a profile's line items) splits its audience into a treated group, served as usual,
and a control group that shows what would have happened without the ads:

- `holdout`: user-level, ghost-ad style (Johnson, Lewis & Nubbemeyer 2017). A share
  `control_share` of the line item's targetable households is held out; the ad server
  serves them nothing and logs the ads it would have served (the "ghost" exposures), so the
  control group an analyst compares with the exposed households is the households that
  would have been exposed.
- `psa`: the control households are served a public-service ad instead, bought like any
  impression (it costs money) and with no effect on conversions.
- `geo`: treated geos against control geos; the control geos are not served at all.
  `control_geos` lists them (each one of the line item's targeted geos); left out, they are
  the last max(1, round(control_share × n)) of its n targeted geos in alphabetical order (a
  fixed rule, so a plan always gives the same split). At least one targeted geo must stay
  treated and one must be a control: a geo experiment needs the line item to target two or
  more geos (an empty geo list means every geo of the platform, which is not a split).

Rules (one line naming the key and the allowed values when broken, exit 2):
control_share in (0, 0.5]; a geo experiment with a control and a treated geo; a holdout or
PSA line item large enough to hold its control group, `MIN_CONTROL_IMPRESSIONS` of the
impressions its budget buys at its CPM (checked where the budget and CPM are known:
`check_control_size`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from adsgen.domain.enums import ExperimentType
from adsgen.domain.fields import CountryCode, UniqueList
from adsgen.domain.fields import rule_error as _fail

__all__ = [
    "MAX_CONTROL_SHARE",
    "MIN_CONTROL_IMPRESSIONS",
    "ExperimentSchema",
    "control_geos",
    "control_size_problem",
]

MAX_CONTROL_SHARE = 0.5
"""At most half the audience is held out (a bigger control is a bigger treatment)."""
MIN_CONTROL_IMPRESSIONS = 20_000
"""The control group of a holdout or PSA line item must be worth at least this many of the
impressions its budget buys (control_share × budget ÷ CPM × 1000): about 4,000 would-be-exposed
households at a frequency of 5, below which a lift test measures nothing."""

_SHARE_RULE = f"allowed: a share in (0, {MAX_CONTROL_SHARE}]"


class ExperimentSchema(BaseModel):
    """One line item's experiment: its type, the share held out and, for geo, the control
    geos (see the module docstring)."""

    model_config = ConfigDict(extra="forbid", from_attributes=True)

    type: ExperimentType
    control_share: float = Field(
        default=0.1,
        description="share of the line item's households (holdout, psa) or geos (geo, when "
        "control_geos is not given) in the control group, in (0, 0.5]",
    )
    control_geos: UniqueList[CountryCode] = Field(
        default_factory=list,
        description="geo experiments only: the control geos, each a targeted geo of the line "
        "item; empty: the last round(control_share × n) targeted geos by name",
    )

    @field_validator("control_share")
    @classmethod
    def _share_in_range(cls, share: float) -> float:
        if not 0.0 < share <= MAX_CONTROL_SHARE:
            raise _fail(f"control_share {share:g} is out of range; {_SHARE_RULE}")
        return share

    @model_validator(mode="after")
    def _check(self) -> Self:
        if self.control_geos and self.type is not ExperimentType.geo:
            raise _fail(f"control_geos is for type geo only, not {self.type}; allowed types: "
                        + ", ".join(t.value for t in ExperimentType))
        return self


def control_geos(experiment: ExperimentSchema, geos: Sequence[str]) -> tuple[str, ...]:
    """The control geos of a geo experiment on a line item targeting `geos`; raises
    ValueError naming the key and what is allowed when no control or no treated geo is
    left."""
    targeted = sorted(set(geos))
    if experiment.control_geos:
        outside = [g for g in experiment.control_geos if g not in targeted]
        if outside:
            raise ValueError(
                f"experiment.control_geos: {', '.join(outside)} not among the line item's "
                f"targeted geos; allowed: {', '.join(targeted) or 'none (it targets every geo)'}")
        chosen = tuple(sorted(experiment.control_geos))
    else:
        count = max(1, round(experiment.control_share * len(targeted)))
        chosen = tuple(targeted[len(targeted) - count:]) if len(targeted) >= 2 else ()
    if not chosen or len(chosen) >= len(targeted):
        raise ValueError(
            "experiment: a geo experiment needs a control geo and a treated geo; the line item "
            f"targets {', '.join(targeted) or 'every geo (none listed)'}; allowed: targeting.geo"
            " with two or more geos, control_geos some but not all of them")
    return chosen


def control_size_problem(
    experiment: ExperimentSchema | None, *, budget_micros: int, cpm_micros: int
) -> str | None:
    """Why a holdout or PSA line item is too small to hold its control group (None: it is
    not): its control share of the impressions the budget buys is below
    MIN_CONTROL_IMPRESSIONS."""
    if experiment is None or experiment.type is ExperimentType.geo or cpm_micros <= 0:
        return None
    impressions = budget_micros * 1000 // cpm_micros
    held = experiment.control_share * impressions
    if held >= MIN_CONTROL_IMPRESSIONS:
        return None
    return (f"experiment.control_share: the line item is too small to hold its control group "
            f"({experiment.control_share:g} × {impressions:,} planned impressions = "
            f"{held:,.0f}, below {MIN_CONTROL_IMPRESSIONS:,}); allowed: control_share in (0, "
            f"{MAX_CONTROL_SHARE}] with control_share × budget ÷ CPM × 1000 ≥ "
            f"{MIN_CONTROL_IMPRESSIONS:,}")
