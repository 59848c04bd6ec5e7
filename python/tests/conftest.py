"""Shared fixtures: the repository's reference cases (tests/fixtures at the root)."""

import json
import pathlib

import numpy as np
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"
HERE = pathlib.Path(__file__).resolve().parent

#: Reference cases whose fit succeeded in the reference (as tests/common/mod.rs).
FIT_CASES = [
    "different_sizes",
    "linear_conjugate",
    "linear_different",
    "lorenz_pair_rot",
    "rank_deficient_ok",
]


def load_case(case):
    """(case.json, result.json, X, Y) of a reference case."""
    d = FIXTURES / case
    return (
        json.loads((d / "case.json").read_text()),
        json.loads((d / "result.json").read_text()),
        np.load(d / "X.npy"),
        np.load(d / "Y.npy"),
    )


@pytest.fixture(scope="session")
def anchor():
    """The pairwise anchor's 20 systems (T = 1000, N = 10)."""
    return np.load(FIXTURES / "pairwise_anchor" / "data.npy")


@pytest.fixture(scope="session")
def crate_values():
    return json.loads((HERE / "fixtures" / "crate_values.json").read_text())


def wave(w, t=300, n=2, noise=0.0, seed=0):
    """A small test signal: sinusoids of frequency w, with optional noise."""
    rng = np.random.default_rng(seed)
    tt = np.arange(t)[:, None]
    x = np.sin(w * tt + np.arange(n)[None, :])
    return x + noise * rng.standard_normal((t, n))
