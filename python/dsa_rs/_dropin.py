"""``dsa_rs.DSA``: a drop-in for ``DSA.DSA`` of the reference package ``dsa-metric``.

It takes the reference's constructor arguments with the reference's defaults (no delays, full
rank, ``lamb=1e-8``, the Wasserstein score) and ``fit_score()`` returns what the reference
returns: a float for two arrays, an ``(M, M)`` matrix for a list, ``(M, K)`` for two lists,
``(M,)`` / ``(K,)`` for a list against one array. The differences are listed in
docs/python.md: an exact solver instead of Cayley + Adam, float64 instead of float32, an
explicit size-mismatch policy, and ``iters`` / ``lr`` used only by the paper's solver
(``solver="paper"``).
"""

from __future__ import annotations

import warnings
from typing import Any, List, Optional

import numpy as np

from . import _core
from ._api import _as_dataset, _with_progress

#: The reference DMD's constructor defaults (``DSA.dmd.DMD``), which ``DSA(**dmd_kwargs)`` uses
#: for every argument not given.
REFERENCE_DMD_DEFAULTS = {
    "n_delays": 1,
    "delay_interval": 1,
    "rank": None,
    "rank_thresh": None,
    "rank_explained_variance": None,
    "reduced_rank_reg": False,
    "lamb": 1e-8,
    "steps_ahead": 1,
}
_CAST = {
    "n_delays": int,
    "delay_interval": int,
    "rank": int,
    "rank_thresh": float,
    "rank_explained_variance": float,
    "lamb": float,
    "steps_ahead": int,
    "reduced_rank_reg": bool,
}
#: Reference DMD arguments that change nothing here (where the computation runs, printing).
_IGNORED = ("device", "verbose", "send_to_cpu")


def _is_array(x: Any) -> bool:
    return isinstance(x, np.ndarray) or (hasattr(x, "detach") and hasattr(x, "shape"))


def _check_dmd_class(dmd_class: Any) -> None:
    if dmd_class is None:
        return
    name = getattr(dmd_class, "__name__", "")
    module = getattr(dmd_class, "__module__", "")
    if name in ("DMD", "DefaultDMD") and module.startswith("DSA"):
        return
    raise ValueError(
        f"dsa_rs.DSA implements the reference's default DMD (HAVOK); dmd_class={name or dmd_class!r} "
        "is not available. Leave dmd_class unset."
    )


class DSA:
    """Dynamical Similarity Analysis with the reference's interface (``from dsa_rs import DSA``
    in place of ``from DSA import DSA``).

    ``X`` and ``Y``: arrays (time x channels, or trials x time x channels) or lists of them,
    each array one system, as in the reference; ``Y=None`` with a list ``X`` compares the list
    pairwise. ``**dmd_kwargs``: ``n_delays``, ``delay_interval``, ``rank`` (None: full),
    ``rank_thresh``, ``rank_explained_variance``, ``lamb``, ``reduced_rank_reg``,
    ``steps_ahead``; a value, a pair ``(x_value, y_value)`` or lists, broadcast as the
    reference broadcasts them.

    Beyond the reference: ``size_mismatch`` (``"error"``, the default; ``"spectral"`` is the
    reference's silent fallback to the Wasserstein score for operators of different sizes;
    ``"zero_pad"``), ``solver`` (``"exact"``, the default; ``"paper"``: Cayley + Adam with
    ``iters`` and ``lr``; ``"fast"``), ``seed`` and ``threads``.
    """

    def __init__(
        self,
        X: Any,
        Y: Any = None,
        dmd_class: Any = None,
        device: str = "cpu",
        verbose: bool = False,
        n_jobs: int = 1,
        score_method: str = "wasserstein",
        iters: int = 1500,
        lr: float = 5e-3,
        *,
        size_mismatch: str = "error",
        solver: str = "exact",
        seed: Optional[int] = None,
        threads: Optional[int] = None,
        **dmd_kwargs: Any,
    ):
        _check_dmd_class(dmd_class)
        unknown = set(dmd_kwargs) - set(REFERENCE_DMD_DEFAULTS) - set(_IGNORED)
        if unknown:
            raise TypeError(
                f"unexpected DMD argument(s) {sorted(unknown)}; dsa_rs.DSA takes "
                f"{sorted(REFERENCE_DMD_DEFAULTS)}"
            )
        if device not in ("cpu", None):
            warnings.warn(
                f"dsa_rs computes on the CPU in float64; device={device!r} is ignored",
                stacklevel=2,
            )
        if X is None and isinstance(Y, list):
            X, Y = Y, X
        self.X, self.Y = X, Y
        self.verbose = verbose
        self.n_jobs = n_jobs
        self.score_method = score_method
        self.iters, self.lr = iters, lr
        self.size_mismatch, self.solver, self.seed = size_mismatch, solver, seed
        self.threads = threads if threads is not None else (n_jobs if n_jobs and n_jobs > 1 else None)
        self._method()
        config = dict(REFERENCE_DMD_DEFAULTS)
        config.update({k: v for k, v in dmd_kwargs.items() if k not in _IGNORED})
        self.dmd_config = {k: self._broadcast(v, _CAST.get(k)) for k, v in config.items()}
        self.dmds: Optional[List[list]] = None
        self.sims: Any = None

    # --- how the reference reads X and Y -------------------------------------------------

    def _method(self) -> None:
        X, Y = self.X, self.Y
        if isinstance(X, list):
            if Y is None:
                self.method = "self-pairwise"
            elif isinstance(Y, list):
                self.method = "bipartite-pairwise"
            elif _is_array(Y):
                self.method = "list-to-one"
                self.Y = [Y]
            else:
                raise ValueError("unknown type of Y")
        elif _is_array(X):
            self.X = [X]
            if Y is None:
                raise ValueError("only one element provided")
            if isinstance(Y, list):
                self.method = "one-to-list"
            elif _is_array(Y):
                self.method = "default"
                self.Y = [Y]
            else:
                raise ValueError("unknown type of Y")
        else:
            raise ValueError("unknown type of X")
        self.data = [self.X] if self.method == "self-pairwise" else [self.X, self.Y]

    def _broadcast(self, param: Any, cast: Any) -> List[list]:
        """One list of values per side, as the reference's ``broadcast_params``."""
        out: List[list] = []
        if isinstance(param, (tuple, list, np.ndarray)):
            if self.method == "self-pairwise" and len(param) >= len(self.X):
                out = [list(param)[: len(self.X)]]
            else:
                if len(param) > 2:
                    raise ValueError(
                        f"a parameter list of {len(param)} values needs one value per system"
                    )
                for i, data in enumerate(self.data):
                    p = param[i]
                    if isinstance(p, (list, tuple, np.ndarray)):
                        if len(p) < len(data):
                            raise ValueError(
                                f"{len(p)} values for {len(data)} systems on side {i}"
                            )
                        out.append(list(p)[: len(data)])
                    else:
                        out.append([p] * len(data))
        else:
            if param in ("None", "none"):
                param = None
            out = [[param] * len(d) for d in self.data]
        if cast is not None:
            out = [[None if v is None else cast(v) for v in side] for side in out]
        return out

    # --- the crate's parameters ---------------------------------------------------------

    def _fit_params(self, side: Optional[int] = None) -> dict:
        """Per-dataset DMD parameters (lists) for one side, or for all sides in order."""
        sides = range(len(self.data)) if side is None else [side]
        params: dict = {}
        for key, per_side in self.dmd_config.items():
            values = [v for s in sides for v in per_side[s]]
            if key == "rank":
                params[key] = ["full" if v is None else v for v in values]
            elif key == "reduced_rank_reg":
                if len(set(values)) > 1:
                    raise ValueError("reduced_rank_reg must be the same for every system here")
                params[key] = bool(values[0]) if values else False
            elif all(v is None for v in values):
                continue
            elif any(v is None for v in values):
                raise ValueError(f"{key}: mixing None and values between systems is not supported")
            else:
                params[key] = values
        rank_rules = [k for k in ("rank_thresh", "rank_explained_variance") if k in params]
        if rank_rules:
            if any(v != "full" for v in params["rank"]):
                raise ValueError(
                    "More than one rank parameter was provided. Please provide only one of "
                    "rank, rank_thresh, or rank_explained_variance."
                )
            del params["rank"]
        return params

    def _compare_params(self) -> dict:
        p: dict = {
            "score_method": self.score_method,
            "size_mismatch": self.size_mismatch,
            "solver": self.solver,
        }
        if self.solver == "paper":
            p["iters"], p["lr"] = self.iters, self.lr
        if self.seed is not None:
            p["seed"] = self.seed
        if self.threads is not None:
            p["threads"] = self.threads
        return p

    # --- the reference's methods --------------------------------------------------------

    def fit_dmds(self) -> List[list]:
        """Fit every system's DMD model: ``self.dmds[side][k]`` is a ``dsa_rs.Model``."""
        threads = {} if self.threads is None else {"threads": self.threads}
        self.dmds = [
            _core.fit_all([_as_dataset(x) for x in data], **self._fit_params(i), **threads)
            for i, data in enumerate(self.data)
        ]
        return self.dmds

    def score(self) -> Any:
        """Compare the fitted models: the reference's return value for this mode."""
        if self.dmds is None:
            raise ValueError("call fit_dmds() (or fit_score()) first")
        params = self._compare_params()
        params["progress"] = bool(self.verbose)
        ops = [[m.operator for m in side] for side in self.dmds]
        if self.method == "self-pairwise":
            sims = _with_progress(
                lambda **p: _core.pairwise_operators(ops[0], **p), "Scoring DMD pairs", params
            )
        else:
            sims = _with_progress(
                lambda **p: _core.bipartite_operators(ops[0], ops[1], **p),
                "Scoring DMD pairs",
                params,
            )
        self.sims = sims[:, :, None]
        if self.method == "default":
            return self.sims[0, 0].item()
        return self.sims.squeeze()

    def fit_score(self) -> Any:
        """Fit every system and compare: a float for two arrays, an ``(M, M)`` matrix for one
        list, ``(M, K)`` for two lists, ``(M,)`` or ``(K,)`` for a list and an array."""
        self.fit_dmds()
        return self.score()
