"""The base of every YAML model: unknown keys are errors, models are frozen.

Its own module so that the parts of the contract that live beside `spec` (the platform
calendar) share it without importing `spec`, which imports them.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

__all__ = ["StrictModel"]


class StrictModel(BaseModel):
    """Base of every YAML model: unknown keys are errors, values are validated on assignment."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_assignment=True)
