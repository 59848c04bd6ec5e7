"""Pairwise matrices on Dask (or any ``concurrent.futures.Executor``).

1. Fit each dataset's operator once, in parallel on the workers.
2. Gather the operators (``r x r`` each: small).
3. Split the upper triangle into blocks of pairs (square tiles); each block runs the crate's
   pair kernel (``pairwise_block``) on a worker.
4. Assemble the blocks into the upper triangle and finish on the driver (``pairwise_finish``,
   the crate's post-pass).

A pair's value does not depend on the blocking or on the worker: the matrix is the same bits as
a local ``dsa_rs.pairwise`` (on machines that take the same SIMD paths; see
docs/scale-out.md). Each task computes on one core by default (``threads=1``): the cluster's
worker threads are the parallelism.
"""

from __future__ import annotations

import concurrent.futures
import math
from typing import Any, Iterable, List, Sequence, Tuple

import numpy as np

from . import _core
from ._api import progress_hook

#: DMD settings that may be given per dataset (a list) and are split between the fits.
_PER_DATASET = (
    "n_delays",
    "delay_interval",
    "rank",
    "rank_thresh",
    "rank_explained_variance",
    "lamb",
    "steps_ahead",
)
#: Settings of the fit (the rest belong to the comparison).
_FIT = _PER_DATASET + ("reduced_rank_reg",)
#: The crate's names of the per-dataset settings, for its error messages.
_CRATE_NAME = {"lamb": "lambda", "rank_explained_variance": "explained_variance"}


def _fit_operator(x: Any, params: dict) -> np.ndarray:
    """Worker task: one dataset's operator."""
    return _core.fit(x, **params).operator


def _block(operators: Sequence[np.ndarray], pairs: List[Tuple[int, int]], params: dict) -> np.ndarray:
    """Worker task: the values of one block of pairs."""
    return _core.pairwise_block(list(operators), pairs, **params)


def _split_params(params: dict, m: int) -> Tuple[List[dict], dict]:
    """Per-dataset fit parameters (lists split between the datasets, checked as the crate
    checks them) and the comparison's parameters."""
    fit = {k: v for k, v in params.items() if k in _FIT}
    compare = {k: v for k, v in params.items() if k not in _FIT and k != "progress"}
    per = [dict(fit) for _ in range(m)]
    for key in _PER_DATASET:
        value = fit.get(key)
        name = _CRATE_NAME.get(key, key)
        if isinstance(value, tuple):
            raise _core.InvalidParameterError(
                f"invalid parameter `{name}`: a per-side value (X side, Y side) was given, but "
                f"this call has one side ({m} dataset(s)); give one value, or a list with one "
                "value per dataset"
            )
        if isinstance(value, (list, np.ndarray)):
            if len(value) != m:
                raise _core.InvalidParameterError(
                    f"invalid parameter `{name}`: the per-dataset list has {len(value)} value(s) "
                    f"but the call has {m} dataset(s); give one value per dataset, X side "
                    "first, then Y side"
                )
            for k in range(m):
                per[k][key] = value[k]
    return per, compare


def _tiles(m: int, side: int) -> List[List[Tuple[int, int]]]:
    """The upper triangle in square tiles of ``side`` rows and columns (half tiles on the
    diagonal), tile after tile in row order, pairs in row order within a tile.

    A block prepares each operator it touches once (spectra, eigenvectors and, up to size 40,
    the Gauss-Newton preconditioner: about 6 ms at size 30) and shares nothing with other
    blocks. A tile of ``s x s`` pairs touches ``2 s`` operators, a run of ``s^2`` pairs along a
    row ``s^2 + 1``: tiles keep that cost small next to the pairs themselves.
    """
    out = []
    for r0 in range(0, m, side):
        for c0 in range(r0, m, side):
            rows = range(r0, min(r0 + side, m))
            tile = [(i, j) for i in rows for j in range(max(c0, i + 1), min(c0 + side, m))]
            if tile:
                out.append(tile)
    return out


class _Dask:
    """The Dask client's side of a run."""

    def __init__(self, client: Any):
        self.client = client

    def workers_threads(self) -> int:
        info = self.client.scheduler_info()
        return max(1, sum(w.get("nthreads", 1) for w in info.get("workers", {}).values()))

    def map(self, fn: Any, data: list, params: list) -> list:
        from distributed import Future

        if not any(isinstance(x, Future) for x in data):
            # one round trip for all datasets, rather than each inside the task graph
            data = self.client.scatter(data)
        return self.client.map(fn, data, params, pure=False)

    def share(self, operators: List[np.ndarray]) -> Any:
        # every block needs every operator: send them to each worker once
        return self.client.scatter(operators, broadcast=True)

    def submit(self, fn: Any, *args: Any) -> Any:
        return self.client.submit(fn, *args, pure=False)

    def as_completed(self, futures: list) -> Iterable:
        from distributed import as_completed

        return as_completed(futures)

    def cancel(self, futures: list) -> None:
        self.client.cancel(futures)


class _Executor:
    """A ``concurrent.futures.Executor``'s side of a run."""

    def __init__(self, executor: concurrent.futures.Executor):
        self.executor = executor

    def workers_threads(self) -> int:
        return max(1, getattr(self.executor, "_max_workers", 1) or 1)

    def map(self, fn: Any, data: list, params: list) -> list:
        return [self.executor.submit(fn, x, p) for x, p in zip(data, params)]

    def share(self, operators: List[np.ndarray]) -> Any:
        return operators

    def submit(self, fn: Any, *args: Any) -> Any:
        return self.executor.submit(fn, *args)

    def as_completed(self, futures: list) -> Iterable:
        return concurrent.futures.as_completed(futures)

    def cancel(self, futures: list) -> None:
        for f in futures:
            f.cancel()


def _backend(client: Any) -> Any:
    if isinstance(client, concurrent.futures.Executor):
        return _Executor(client)
    if hasattr(client, "scatter") and hasattr(client, "submit") and hasattr(client, "map"):
        return _Dask(client)
    raise TypeError(
        "client must be a dask.distributed.Client or a concurrent.futures.Executor "
        f"(e.g. dsa_rs.RayExecutor()), got {type(client).__name__}"
    )


def _key(f: Any) -> Any:
    """A future's identity: Dask's key (``as_completed`` may hand back another object for the
    same task), the object itself otherwise."""
    return getattr(f, "key", None) or id(f)


def _results_in_order(futures: list, names: Sequence[str]) -> list:
    """Every result, or the first failure in list order (naming its dataset)."""
    out = []
    for name, f in zip(names, futures):
        try:
            out.append(f.result())
        except _core.DsaError as e:
            raise type(e)(f"{name}: {e}") from e
    return out


def pairwise_distributed(datasets: Any, client: Any, block_size: Any, params: dict) -> np.ndarray:
    backend = _backend(client)
    data = list(datasets)
    m = len(data)
    per, compare = _split_params(params, m)
    task = dict(compare)
    task.setdefault("threads", 1)
    for p in per:
        p.setdefault("threads", 1)
    # check the comparison's settings on the driver before any work is sent
    _core.pairwise_operators([], **compare)
    if block_size is None:
        # about four blocks per worker thread: enough to balance, few enough to be cheap
        k = math.ceil(math.sqrt(8 * backend.workers_threads()))
        side = max(1, math.ceil(m / k))
    elif isinstance(block_size, bool) or not isinstance(block_size, int) or block_size < 1:
        raise _core.InvalidParameterError(
            f"invalid parameter `block_size`: must be an integer >= 1, got {block_size!r}"
        )
    else:
        side = max(1, math.isqrt(block_size))
    callback, close = progress_hook(params.get("progress"), "dsa_rs.pairwise (distributed)")
    futures: list = []
    try:
        futures = backend.map(_fit_operator, data, per)
        operators = _results_in_order(futures, [f"dataset {k}" for k in range(m)])
        shared = backend.share(operators)
        blocks = _tiles(m, side)
        futures = [backend.submit(_block, shared, b, task) for b in blocks]
        size = {_key(f): len(b) for f, b in zip(futures, blocks)}
        total = m * (m - 1) // 2
        done = 0
        for f in backend.as_completed(futures):
            if f.exception() is not None:
                break
            done += size[_key(f)]
            if callback is not None and callback(done, total) is False:
                raise _core.CancelledError(
                    f"cancelled by the progress callback after {done} of {total} pairs; "
                    "no partial result is returned"
                )
        values = np.zeros((m, m))
        for b, v in zip(blocks, _results_in_order(futures, [f"block {k}" for k in range(len(blocks))])):
            rows, cols = zip(*b)
            values[list(rows), list(cols)] = v
    except BaseException:
        # Ctrl-C, a failed task or a cancellation: stop the rest of the work
        backend.cancel(futures)
        raise
    finally:
        close()
    return _core.pairwise_finish(operators, values, **compare)


class RayExecutor(concurrent.futures.Executor):
    """A ``concurrent.futures.Executor`` on Ray, for ``dsa_rs.pairwise(xs, client=RayExecutor())``.

    Each ``submit`` runs the function as a Ray task (``ray.remote``) and returns the task's
    ``concurrent.futures.Future``. Ray must be installed and initialised (``ray.init()``).
    ``num_cpus`` is the number of CPUs each task reserves.
    """

    def __init__(self, num_cpus: int = 1):
        import ray

        self._ray = ray
        self._num_cpus = num_cpus
        self._remote: dict = {}
        self._max_workers = int(ray.cluster_resources().get("CPU", 1))

    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> concurrent.futures.Future:
        remote = self._remote.get(fn)
        if remote is None:
            remote = self._remote[fn] = self._ray.remote(num_cpus=self._num_cpus)(fn)
        return remote.remote(*args, **kwargs).future()
