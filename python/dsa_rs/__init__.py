"""Dynamical Similarity Analysis (DSA), exact and fast: the Python bindings of the Rust crate
``dsa``.

Numpy in, numpy out::

    import numpy as np, dsa_rs
    x = np.random.default_rng(0).standard_normal((500, 3)).cumsum(axis=0)
    y = x @ np.linalg.qr(np.random.default_rng(1).standard_normal((3, 3)))[0]
    print(dsa_rs.distance(x, y))             # ~0: the same dynamics in rotated coordinates
    print(dsa_rs.pairwise([x, y, x ** 2]))   # 3 x 3 matrix

``dsa_rs.DSA`` is a drop-in for the reference package's ``DSA`` class (``dsa-metric``). Errors
are ``dsa_rs.DsaError`` (a ``ValueError``) or one of its subclasses. See docs/python.md.
"""

from ._core import (
    CancelledError,
    DegenerateError,
    DsaError,
    EmptyDataError,
    InvalidParameterError,
    Model,
    NoConvergenceError,
    NonFiniteError,
    ShapeMismatchError,
    SizeMismatchError,
    TrialTooShortError,
    __version__,
)
from ._api import (
    bipartite,
    bipartite_operators,
    distance,
    fit,
    fit_all,
    operator_distance,
    pairwise,
    pairwise_operators,
)
from ._distributed import RayExecutor
from ._dropin import DSA


def _model_from_bytes(data: bytes) -> Model:
    """Unpickles a ``Model`` (``Model.__reduce__`` points here)."""
    return Model.from_bytes(data)


__all__ = [
    "DSA",
    "Model",
    "RayExecutor",
    "bipartite",
    "bipartite_operators",
    "distance",
    "fit",
    "fit_all",
    "operator_distance",
    "pairwise",
    "pairwise_operators",
    "DsaError",
    "CancelledError",
    "DegenerateError",
    "EmptyDataError",
    "InvalidParameterError",
    "NoConvergenceError",
    "NonFiniteError",
    "ShapeMismatchError",
    "SizeMismatchError",
    "TrialTooShortError",
    "__version__",
]
