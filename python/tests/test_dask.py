"""Many systems on Dask: a LocalCluster of 2 worker processes gives the same matrix, bit for
bit, as a local pairwise."""

import concurrent.futures

import numpy as np
import pytest

import dsa_rs

distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    )
    c = distributed.Client(cluster)
    yield c
    c.close()
    cluster.close()


def test_dask_is_bit_identical_to_local(client, anchor):
    xs = list(anchor[:12])
    local = dsa_rs.pairwise(xs)
    for block_size in (None, 1, 7, 1000):
        remote = dsa_rs.pairwise(xs, client=client, block_size=block_size)
        assert remote.dtype == local.dtype and remote.shape == (12, 12)
        assert remote.tobytes() == local.tobytes(), block_size


def test_dask_with_per_dataset_settings_and_trials(client, anchor):
    # ragged trials and per-dataset lists travel as they are
    xs = [[anchor[k, :400], anchor[k, 500:]] for k in range(5)]
    params = dict(n_delays=[3, 4, 3, 4, 3], rank=6, score_method="euclidean", progress=True)
    local = dsa_rs.pairwise(xs, **params)
    remote = dsa_rs.pairwise(xs, client=client, **params)
    assert remote.tobytes() == local.tobytes()


def test_dask_errors_name_the_dataset(client, anchor):
    xs = list(anchor[:4])
    xs[2] = np.full((100, 10), np.nan)
    with pytest.raises(dsa_rs.NonFiniteError, match="dataset 2"):
        dsa_rs.pairwise(xs, client=client)
    with pytest.raises(dsa_rs.InvalidParameterError, match="per-dataset list"):
        dsa_rs.pairwise(list(anchor[:4]), client=client, rank=[5, 6])
    with pytest.raises(dsa_rs.InvalidParameterError, match="score_method"):
        dsa_rs.pairwise(list(anchor[:4]), client=client, score_method="cosine")


def test_an_executor_works_too(anchor):
    xs = list(anchor[:6])
    local = dsa_rs.pairwise(xs, n_delays=5, rank=10)
    with concurrent.futures.ProcessPoolExecutor(2) as pool:
        remote = dsa_rs.pairwise(xs, client=pool, block_size=4, n_delays=5, rank=10)
    assert remote.tobytes() == local.tobytes()
