"""The functional API: numpy in, numpy out, the crate's defaults."""

from __future__ import annotations

import warnings
from typing import Any, Callable, Optional, Sequence, Tuple, Union

import numpy as np

from . import _core

#: A dataset: a 2-D array (time x channels), a 3-D array (trials x time x channels) or a list of
#: 2-D arrays (trials of different lengths), float64 or float32.
Dataset = Union[np.ndarray, Sequence[np.ndarray]]

#: A progress setting: ``True`` (a tqdm bar), ``False``/``None``, or a callable
#: ``progress(done, total)`` that may return ``False`` to cancel.
Progress = Union[bool, None, Callable[[int, int], Optional[bool]]]

_PARAMS_DOC = """
    Parameters (keyword-only; each DMD setting takes one value, a tuple ``(x_side, y_side)``
    or a list with one value per dataset, X side first):

    n_delays : int, default automatic (10, fewer for trials shorter than 18 points)
    delay_interval : int, default 1
    rank : int or "full", default 30 (capped at what each dataset allows)
    rank_thresh : float, rank = number of singular values above it
    rank_explained_variance : float in (0, 1], smallest rank reaching that explained variance
    lamb : float, default 0 (ridge)
    reduced_rank_reg : bool, default False
    steps_ahead : int, default 1
    score_method : "angular" (default), "euclidean" or "wasserstein"
    size_mismatch : "error" (default), "zero_pad" or "spectral" (the reference's silent fallback)
    solver : "exact" (default, Riemannian L-BFGS), "fast" or "paper" (Cayley + Adam)
    iters, lr : iterations and learning rate of solver="paper" only
    seed : int, default 0 (the default solver's random starts)
    threads : int, default all cores (results do not depend on it)
    progress : True for a tqdm bar, or a callable progress(done, total) returning False to cancel
"""


def _noop() -> None:
    pass


def _as_trial(t: Any) -> Any:
    """An array-like trial (torch tensor, memoryview, ...) as a numpy array, without a copy when
    it is one already; anything else is left for the extension to reject."""
    if isinstance(t, np.ndarray):
        return t
    if hasattr(t, "detach") and hasattr(t, "cpu"):  # a torch tensor
        return t.detach().cpu().numpy()
    if hasattr(t, "__array__"):
        return np.asarray(t)
    return t


def _as_dataset(x: Any) -> Any:
    """A dataset for the extension: arrays pass through, lists become lists of arrays."""
    if isinstance(x, (list, tuple)):
        return [_as_trial(t) for t in x]
    return _as_trial(x)


def _as_datasets(xs: Any) -> Any:
    if isinstance(xs, np.ndarray):
        return xs
    if isinstance(xs, (list, tuple)):
        return [_as_dataset(x) for x in xs]
    return _as_trial(xs)


def _given(params: dict, *positional: str) -> dict:
    """The keyword parameters that were set (None means the default), without the
    positional arguments."""
    return {k: v for k, v in params.items() if v is not None and k not in positional}


def progress_hook(progress: Progress, desc: str) -> Tuple[Any, Callable[[], None]]:
    """The extension's progress callable for a ``progress`` setting, and a function that closes
    the bar."""
    if progress is None or progress is False:
        return None, _noop
    if progress is True:
        try:
            from tqdm.auto import tqdm
        except ImportError:
            warnings.warn(
                "progress=True shows a tqdm bar, but tqdm is not installed "
                "(pip install tqdm); continuing without one",
                stacklevel=3,
            )
            return None, _noop
        # the bar starts with the call (its rate is right); the total comes with the first report
        bar = tqdm(total=None, desc=desc, unit="pair")

        def update(done: int, total: int) -> None:
            if bar.total != total:
                bar.total = total
                bar.refresh()
            bar.update(done - bar.n)

        def close() -> None:
            bar.close()

        return update, close
    if callable(progress):
        return progress, _noop
    raise TypeError("progress must be True, False, None or a callable progress(done, total)")


def _with_progress(call: Callable[..., Any], desc: str, params: dict) -> Any:
    callback, close = progress_hook(params.pop("progress", None), desc)
    if callback is not None:
        params["progress"] = callback
    try:
        return call(**params)
    finally:
        close()


def distance(
    x: Dataset,
    y: Dataset,
    *,
    n_delays: Any = None,
    delay_interval: Any = None,
    rank: Any = None,
    rank_thresh: Any = None,
    rank_explained_variance: Any = None,
    lamb: Any = None,
    reduced_rank_reg: Optional[bool] = None,
    steps_ahead: Any = None,
    score_method: Optional[str] = None,
    size_mismatch: Optional[str] = None,
    solver: Optional[str] = None,
    iters: Optional[int] = None,
    lr: Optional[float] = None,
    seed: Optional[int] = None,
    threads: Optional[int] = None,
    progress: Progress = False,
) -> float:
    """The DSA distance between two datasets (angular by default, in [0, pi]).

    ``x`` and ``y``: each a 2-D array (time x channels), a 3-D array (trials x time x
    channels) or a list of 2-D arrays (trials of different lengths), float64 or float32.
    """
    params = _given(dict(locals()), "x", "y")
    a, b = _as_dataset(x), _as_dataset(y)
    return _with_progress(lambda **p: _core.distance(a, b, **p), "dsa_rs.distance", params)


def pairwise(
    datasets: Sequence[Dataset],
    *,
    client: Any = None,
    block_size: Optional[int] = None,
    n_delays: Any = None,
    delay_interval: Any = None,
    rank: Any = None,
    rank_thresh: Any = None,
    rank_explained_variance: Any = None,
    lamb: Any = None,
    reduced_rank_reg: Optional[bool] = None,
    steps_ahead: Any = None,
    score_method: Optional[str] = None,
    size_mismatch: Optional[str] = None,
    solver: Optional[str] = None,
    iters: Optional[int] = None,
    lr: Optional[float] = None,
    seed: Optional[int] = None,
    threads: Optional[int] = None,
    progress: Progress = False,
) -> np.ndarray:
    """The ``M x M`` matrix of distances between all pairs of ``datasets`` (symmetric, zero
    diagonal). Each dataset is fitted once, each pair compared once, in parallel.

    ``client``: a ``dask.distributed.Client`` (or a ``concurrent.futures.Executor``, e.g.
    ``dsa_rs.RayExecutor()``) to run on a cluster: each operator is fitted once on the workers,
    the operators are gathered, and blocks of about ``block_size`` pairs (square tiles of the
    triangle; default: about four blocks per worker thread) run on the workers. The matrix is
    the same, bit for bit, as without a client (on machines of one CPU type; see
    docs/scale-out.md).

    Ctrl-C cancels (``KeyboardInterrupt``, never a partial matrix).
    """
    params = _given(dict(locals()), "datasets", "client", "block_size")
    data = _as_datasets(datasets)
    if client is not None:
        from ._distributed import pairwise_distributed

        return pairwise_distributed(data, client, block_size, params)
    if block_size is not None:
        raise TypeError("block_size applies to a distributed run; pass client= as well")
    return _with_progress(
        lambda **p: _core.pairwise(data, **p), "dsa_rs.pairwise", params
    )


def bipartite(
    xs: Sequence[Dataset],
    ys: Sequence[Dataset],
    *,
    n_delays: Any = None,
    delay_interval: Any = None,
    rank: Any = None,
    rank_thresh: Any = None,
    rank_explained_variance: Any = None,
    lamb: Any = None,
    reduced_rank_reg: Optional[bool] = None,
    steps_ahead: Any = None,
    score_method: Optional[str] = None,
    size_mismatch: Optional[str] = None,
    solver: Optional[str] = None,
    iters: Optional[int] = None,
    lr: Optional[float] = None,
    seed: Optional[int] = None,
    threads: Optional[int] = None,
    progress: Progress = False,
) -> np.ndarray:
    """The ``M x K`` matrix of distances between every dataset of ``xs`` and every dataset of
    ``ys``. Per-dataset lists have ``M + K`` values, ``xs`` first."""
    params = _given(dict(locals()), "xs", "ys")
    a, b = _as_datasets(xs), _as_datasets(ys)
    return _with_progress(
        lambda **p: _core.bipartite(a, b, **p), "dsa_rs.bipartite", params
    )


def operator_distance(
    a: np.ndarray,
    b: np.ndarray,
    score: str = "angular",
    *,
    size_mismatch: Optional[str] = None,
    solver: Optional[str] = None,
    iters: Optional[int] = None,
    lr: Optional[float] = None,
    seed: Optional[int] = None,
) -> float:
    """The distance between two fitted operators (square arrays): ``"angular"`` (default),
    ``"euclidean"`` or ``"wasserstein"`` (any sizes)."""
    params = _given(
        dict(size_mismatch=size_mismatch, solver=solver, iters=iters, lr=lr, seed=seed)
    )
    return _core.operator_distance(_as_trial(a), _as_trial(b), score, **params)


def fit(
    x: Dataset,
    *,
    n_delays: Any = None,
    delay_interval: Any = None,
    rank: Any = None,
    rank_thresh: Any = None,
    rank_explained_variance: Any = None,
    lamb: Any = None,
    reduced_rank_reg: Optional[bool] = None,
    steps_ahead: Any = None,
) -> "_core.Model":
    """Fit one dataset: a ``Model`` with ``operator``, ``eigenvalues``, ``singular_values``,
    ``rank_info`` and ``predict``. The defaults are those of ``distance``."""
    params = _given(dict(locals()), "x")
    return _core.fit(_as_dataset(x), **params)


def fit_all(
    datasets: Sequence[Dataset],
    *,
    n_delays: Any = None,
    delay_interval: Any = None,
    rank: Any = None,
    rank_thresh: Any = None,
    rank_explained_variance: Any = None,
    lamb: Any = None,
    reduced_rank_reg: Optional[bool] = None,
    steps_ahead: Any = None,
    threads: Optional[int] = None,
) -> list:
    """Fit several datasets in parallel (per-dataset parameters as lists): a list of
    ``Model``."""
    params = _given(dict(locals()), "datasets")
    return _core.fit_all(_as_datasets(datasets), **params)


def pairwise_operators(
    operators: Sequence[np.ndarray],
    *,
    score_method: Optional[str] = None,
    size_mismatch: Optional[str] = None,
    solver: Optional[str] = None,
    iters: Optional[int] = None,
    lr: Optional[float] = None,
    seed: Optional[int] = None,
    threads: Optional[int] = None,
    progress: Progress = False,
) -> np.ndarray:
    """``pairwise`` on fitted operators (e.g. ``[m.operator for m in fit_all(xs)]``)."""
    params = _given(dict(locals()), "operators")
    ops = [_as_trial(a) for a in operators]
    return _with_progress(
        lambda **p: _core.pairwise_operators(ops, **p), "dsa_rs.pairwise", params
    )


def bipartite_operators(
    a: Sequence[np.ndarray],
    b: Sequence[np.ndarray],
    *,
    score_method: Optional[str] = None,
    size_mismatch: Optional[str] = None,
    solver: Optional[str] = None,
    iters: Optional[int] = None,
    lr: Optional[float] = None,
    seed: Optional[int] = None,
    threads: Optional[int] = None,
    progress: Progress = False,
) -> np.ndarray:
    """``bipartite`` on fitted operators."""
    params = _given(dict(locals()), "a", "b")
    xs = [_as_trial(x) for x in a]
    ys = [_as_trial(y) for y in b]
    return _with_progress(
        lambda **p: _core.bipartite_operators(xs, ys, **p), "dsa_rs.bipartite", params
    )


for _f in (distance, pairwise, bipartite, fit, fit_all):
    _f.__doc__ = (_f.__doc__ or "") + _PARAMS_DOC
