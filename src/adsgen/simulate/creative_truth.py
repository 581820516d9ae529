"""`creative_truth`: the truth per line item × creative × device, unmixed.

The funnel draws every row with the probabilities of its series — line item × creative ×
device (`funnel.series_probabilities`): a creative's duration moves its completion, its
format switches the video events off, QR and interactivity gate scans and CTV clicks.
`ground_truth` mixes them over the line item's creatives by rotation weight; this table keeps
them apart, with the weight, duration and format that explain them and the creative's true
wear-out rate (`wearout`: its rows' CTR and completion fall from these first-exposure values
as households see it again), so a creative-level model (wear-out, duration effects, creative
A/B tests) can be scored against the values the simulation drew with: Σ rotation_weight × p
over a line item's creatives on a device is ground_truth's p.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
from numpy.typing import NDArray

from adsgen.simulate.columns import CREATIVE_TRUTH_SCHEMA
from adsgen.simulate.funnel import SeriesProbabilities, series_index
from adsgen.simulate.grid import AD_FORMATS, DEVICES, Grid
from adsgen.simulate.ground_truth import Params

__all__ = ["creative_truth_table"]

_FORMAT_NAMES = pa.array([f.value for f in AD_FORMATS], type=pa.string())
_DEVICE_NAMES = pa.array([d.value for d in DEVICES], type=pa.string())


def creative_truth_table(
    grid: Grid, params: Params, *, series_probabilities: SeriesProbabilities, seed: int
) -> pa.Table:
    """One row per series (line item × servable creative × device, in series order: by line
    item, creative id, device rank) with its unmixed probabilities (CREATIVE_TRUTH_SCHEMA)."""
    li, cre, dev = series_index(grid)
    duration: NDArray[np.int64] = grid.cre_duration[cre]
    columns: list[pa.Array] = [
        pa.array(grid.li_id[li]),
        pa.array(grid.cre_id[cre]),
        _DEVICE_NAMES.take(pa.array(dev)),
        pa.array(np.full(li.size, seed, dtype=np.int64)),
        _FORMAT_NAMES.take(pa.array(grid.cre_format[cre])),
        pa.array(duration, mask=~grid.cre_video[cre]),
        pa.array(params.rotation_weight[cre]),
        pa.array(params.wear_out[cre]),
    ]
    names = CREATIVE_TRUTH_SCHEMA.names[len(columns):]
    columns += [pa.array(series_probabilities[name]) for name in names]  # as drawn with
    return pa.Table.from_arrays(columns, schema=CREATIVE_TRUTH_SCHEMA)
