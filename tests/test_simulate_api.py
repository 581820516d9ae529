"""The simulate package's public surface: small, pure, and light to import."""

from __future__ import annotations

import dataclasses
import subprocess
import sys

import pytest

import adsgen.simulate as simulate_package
from adsgen.simulate import SimResult, simulate
from simfactory import line_item, platform


def test_public_names() -> None:
    assert set(simulate_package.__all__) == {
        "DEFAULT_BATCH_ROWS", "SimResult", "simulate", "simulate_batches",
    }


def test_importing_simulate_loads_no_sqlalchemy() -> None:
    code = "import sys, adsgen.simulate; print('sqlalchemy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_result_is_frozen() -> None:
    result = simulate([line_item(1)], platform=platform(), seed=0)
    assert isinstance(result, SimResult)
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.performance = result.ground_truth  # type: ignore[misc]
