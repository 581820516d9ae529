"""adsgen: realistic, consistent synthetic data for a streaming-TV (CTV) advertising platform.

The public surface is small: `generate` (build, persist, simulate and write a dataset),
`load_template` (validate a YAML template), `registry` (every domain name by attribute and
profiles, examples, platforms, providers and sinks by name) and `__version__`. Everything else
is imported from its own module. `generate` and `load_template` are imported on first use,
so `import adsgen` stays light.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from adsgen.registry import registry

if TYPE_CHECKING:
    from adsgen.runs.database import generate
    from adsgen.templates.catalog import load_template

__all__ = ["__version__", "generate", "load_template", "registry"]

__version__ = "0.1.0"

_LAZY = {"generate": "adsgen.runs.database", "load_template": "adsgen.templates.catalog"}


def __getattr__(name: str) -> Any:
    """Import `generate` and `load_template` from their modules on first use."""
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'adsgen' has no attribute {name!r}")
