"""Grouped (segmented) array operations on contiguous groups: the simulation's scans.

Every time series of the simulation (a line item's hours, a line item × device's hours, a
frequency-cap window, a UTC day) is a run of consecutive elements of a flat array. A group
is described by `gid` (group index of each element, non-decreasing from 0) and `first`
(index of each group's first element). These helpers turn NumPy's flat scans into grouped
ones without a Python loop over groups.
"""

from __future__ import annotations

from typing import TypeVar

import numpy as np
from numpy.typing import NDArray

from adsgen.world.positions import positions

__all__ = ["Groups", "cummax", "cummin", "cumsum", "fixed_cumsum", "previous", "sums"]

I64 = NDArray[np.int64]
F64 = NDArray[np.float64]
A = TypeVar("A", NDArray[np.int64], NDArray[np.float64])

# Offsets that keep groups apart in a flat running max/min: values stay below 2**41 in
# magnitude and there are fewer than 2**21 groups per batch.
_SPAN = np.int64(1 << 42)


class Groups:
    """Contiguous groups given by the lengths of consecutive runs (zero lengths allowed)."""

    __slots__ = ("first", "gid", "lengths", "n")

    def __init__(self, lengths: I64) -> None:
        self.lengths = lengths.astype(np.int64, copy=False)
        self.n = int(self.lengths.size)
        ends = np.cumsum(self.lengths)
        self.first = ends - self.lengths
        self.gid = np.repeat(np.arange(self.n, dtype=np.int64), self.lengths)

    @property
    def position(self) -> I64:
        """Each element's index within its group (`adsgen.world.positions.positions`)."""
        return positions(self.lengths)

    @classmethod
    def from_gid(cls, gid: I64, n: int) -> Groups:
        """Groups from a non-decreasing group index per element (`n` groups in all)."""
        return cls(np.bincount(gid, minlength=n).astype(np.int64))


def cumsum(values: A, groups: Groups) -> A:
    """Running sum restarting at each group's first element (same dtype as `values`).

    Exact for integers (wrap-around cancels); for floats see `fixed_cumsum`.
    """
    with np.errstate(over="ignore"):
        total: A = np.cumsum(values)
    if values.size == 0:
        return total
    first = np.minimum(groups.first, values.size - 1)
    with np.errstate(over="ignore"):
        base = total[first] - values[first]
        total -= base[groups.gid]
    return total


def fixed_cumsum(values: F64, groups: Groups, *, bits: int) -> F64:
    """Running sum per group of floats, rounded to multiples of 2**-bits, summed exactly.

    A float cumsum over the whole array would carry earlier groups' rounding into later
    groups, so a group's result would depend on what else is in the batch. Integer sums
    are exact (int64 wrap-around cancels in the per-group subtraction), so this is a pure
    function of the group's own values. Group totals must stay below 2**(62 - bits).
    """
    scaled = np.rint(values * float(1 << bits)).astype(np.int64)
    result = cumsum(scaled, groups).astype(np.float64)
    result *= 1.0 / float(1 << bits)
    return result


def sums(values: A, groups: Groups) -> F64:
    """Sum of each group (float64; exact for integer totals below 2**53)."""
    return np.bincount(groups.gid, weights=values, minlength=groups.n).astype(np.float64)


def previous(values: A, groups: Groups) -> A:
    """The element before each element within its group; zero for a group's first element."""
    shifted = np.empty_like(values)
    if values.size == 0:
        return shifted
    shifted[0] = 0
    shifted[1:] = values[:-1]
    shifted[groups.first[groups.lengths > 0]] = 0
    return shifted


def cummax(values: I64, groups: Groups) -> I64:
    """Running maximum per group of integers in [-2**41, 2**41)."""
    offset = groups.gid * _SPAN
    result: I64 = np.maximum.accumulate(values + offset)
    result -= offset
    return result


def cummin(values: I64, groups: Groups) -> I64:
    """Running minimum per group of integers in [-2**41, 2**41)."""
    offset = groups.gid * _SPAN
    result: I64 = np.minimum.accumulate(values - offset)
    result += offset
    return result
