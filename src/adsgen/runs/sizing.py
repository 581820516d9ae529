"""How `generate` cuts a run into blocks: the numbers, and the one sentence that states them.

They live here, apart from `adsgen.runs.blocks` (which imports PyArrow and the simulation),
so that `adsgen generate --help` can quote them without importing anything heavy: the help
text, the README and `auto_block_size` all read this module, and a test checks that the help
and the README say `BLOCK_SIZE_DEFAULT` word for word.
"""

from __future__ import annotations

__all__ = [
    "BLOCK_SIZE_DEFAULT",
    "DEFAULT_BLOCK_ROWS",
    "MIN_BLOCKS",
    "ROWS_PER_DATE_FILE",
]

DEFAULT_BLOCK_ROWS = 750_000
"""The fewest rows a block aims at."""
ROWS_PER_DATE_FILE = 25_000
"""Rows a block aims to give each of its date files: long flights get blocks of more line
items (a worker holds them compressed, `adsgen.storage.sinks.held`, ~5 bytes a row), so a
year is not 365 tiny files per block."""
MIN_BLOCKS = 8
"""Blocks a run is cut into at least (when it has that many line items), whatever the rows,
so that small runs still use every core."""

BLOCK_SIZE_DEFAULT = (
    f"enough line items for {DEFAULT_BLOCK_ROWS:,} rows a block, or for {ROWS_PER_DATE_FILE:,} "
    f"rows in each date file when flights are long, but no more than 1/{MIN_BLOCKS} of the "
    f"line items, so every run has at least {MIN_BLOCKS} blocks; a worker holds a block's rows "
    "compressed and writes each date file in one piece"
)
"""The default `--block-size`, in words (help text and README quote it)."""
