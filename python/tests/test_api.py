"""The functional API: inputs, outputs, models, pickling, progress, the interpreter lock."""

import pickle
import threading
import time

import numpy as np
import pytest

import dsa_rs
from conftest import wave


def test_inputs_2d_3d_lists_float32_and_any_memory_order():
    x = np.stack([wave(0.2, noise=0.1, seed=k) for k in range(3)])  # 3 trials x 300 x 2
    y = np.stack([wave(0.3, noise=0.1, seed=10 + k) for k in range(3)])
    kw = dict(n_delays=3, rank=5)
    base = dsa_rs.distance(x, y, **kw)
    assert 0 < base < np.pi
    assert dsa_rs.distance(list(x), list(y), **kw) == base
    assert dsa_rs.distance(tuple(x), y, **kw) == base
    assert dsa_rs.distance(np.asfortranarray(x), y, **kw) == base
    # non-contiguous views: every other channel of a wider array
    wide = np.zeros((3, 300, 4))
    wide[:, :, ::2] = x
    assert dsa_rs.distance(wide[:, :, ::2], y, **kw) == base
    # reversed time twice is the original
    assert dsa_rs.distance(x[:, ::-1][:, ::-1], y, **kw) == base
    # float32 widened in the one copy
    x32 = x.astype(np.float32)
    assert dsa_rs.distance(x32, y, **kw) == dsa_rs.distance(x32.astype(np.float64), y, **kw)
    # ragged trials
    ragged = [x[0], x[1, :200], x[2, 50:]]
    assert np.isfinite(dsa_rs.distance(ragged, y, **kw))


def test_functional_api_shapes_and_symmetry():
    xs = [wave(w, noise=0.05, seed=k) for k, w in enumerate((0.2, 0.3, 0.4, 0.5))]
    kw = dict(n_delays=3, rank=5)
    d = dsa_rs.pairwise(xs, **kw)
    assert d.shape == (4, 4) and d.dtype == np.float64
    np.testing.assert_array_equal(d, d.T)
    assert np.all(np.diag(d) == 0)
    assert d[0, 1] == dsa_rs.distance(xs[0], xs[1], **kw)
    b = dsa_rs.bipartite(xs[:2], xs[1:], **kw)
    assert b.shape == (2, 3)
    assert b[1, 0] == 0 or b[1, 0] < 1e-8
    assert b[0, 2] == d[0, 3]
    # a 3-D array lists datasets along its first axis
    np.testing.assert_array_equal(dsa_rs.pairwise(np.stack(xs), **kw), d)
    models = dsa_rs.fit_all(xs, **kw)
    ops = [m.operator for m in models]
    np.testing.assert_array_equal(dsa_rs.pairwise_operators(ops), d)
    np.testing.assert_array_equal(dsa_rs.bipartite_operators(ops[:2], ops[1:]), b)
    assert dsa_rs.operator_distance(ops[0], ops[1]) == d[0, 1]
    w = dsa_rs.operator_distance(ops[0], ops[1], "wasserstein")
    assert w == dsa_rs.distance(xs[0], xs[1], score_method="wasserstein", **kw)


def test_model_attributes_predict_and_pickle():
    x = wave(0.2, t=400, n=3, noise=0.05)
    m = dsa_rs.fit(x, n_delays=4, rank=6)
    assert m.operator.shape == (6, 6)
    assert m.eigenvalues.dtype == np.complex128 and m.eigenvalues.shape == (6,)
    np.testing.assert_allclose(
        np.sort_complex(np.linalg.eigvals(m.operator)), np.sort_complex(m.eigenvalues), atol=1e-10
    )
    assert m.singular_values.shape == (12,)
    assert np.all(np.diff(m.singular_values) <= 0)
    assert m.rank == 6 and m.n_delays == 4 and m.n_channels == 3
    assert m.rank_info == {
        "rule": "rank=6", "requested": 6, "used": 6, "available": 12,
        "numerical_rank": 12, "capped": False,
    }
    assert m.full_operator().shape == (12, 12)
    p = m.predict(x)
    assert p.shape == x.shape
    np.testing.assert_array_equal(p[:4], x[:4])  # (d - 1) tau + s points copied
    assert np.mean((p[4:] - x[4:]) ** 2) < np.mean(x**2)
    assert m.predict(np.stack([x, x])).shape == (2, 400, 3)
    assert [t.shape for t in m.predict([x, x[:100]], reseed=None)] == [(400, 3), (100, 3)]
    # pickling keeps every bit
    m2 = pickle.loads(pickle.dumps(m))
    for attr in ("operator", "eigenvalues", "singular_values"):
        np.testing.assert_array_equal(getattr(m2, attr), getattr(m, attr))
    np.testing.assert_array_equal(m2.predict(x, reseed=5), m.predict(x, reseed=5))
    assert dsa_rs.Model.from_bytes(m.to_bytes()).rank_info == m.rank_info
    with pytest.raises(dsa_rs.InvalidParameterError, match="bytes"):
        dsa_rs.Model.from_bytes(m.to_bytes()[:-1])
    with pytest.raises(dsa_rs.InvalidParameterError, match="reseed"):
        m.predict(x, reseed=0)
    with pytest.raises(dsa_rs.ShapeMismatchError, match="channels"):
        m.predict(x[:, :2])


def test_exceptions_are_value_errors_and_pickle():
    for name in ("EmptyData", "NonFinite", "ShapeMismatch", "TrialTooShort", "InvalidParameter",
                 "Degenerate", "SizeMismatch", "NoConvergence", "Cancelled"):
        cls = getattr(dsa_rs, name + "Error")
        assert issubclass(cls, dsa_rs.DsaError) and issubclass(cls, ValueError)
        e = pickle.loads(pickle.dumps(cls("message")))
        assert type(e) is cls and str(e) == "message"
    with pytest.raises(dsa_rs.NonFiniteError) as info:
        dsa_rs.distance(wave(0.2), np.full((50, 2), np.nan))
    assert "non-finite value NaN in data of y" in str(info.value)


def test_the_drop_in_object_pickles():
    xs = [wave(0.2, noise=0.1, seed=k) for k in range(3)]
    dsa = dsa_rs.DSA(xs, n_delays=3, rank=4, score_method="angular")
    first = dsa.fit_score()
    again = pickle.loads(pickle.dumps(dsa))
    np.testing.assert_array_equal(again.fit_score(), first)
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(dsa)).score(), first)


def test_parameters_are_checked():
    x, y = wave(0.2, noise=0.1), wave(0.3, noise=0.1, seed=1)
    with pytest.raises(TypeError, match="unexpected keyword"):
        dsa_rs._core.distance(x, y, n_delay=3)
    with pytest.raises(TypeError):
        dsa_rs.distance(x, y, n_delay=3)
    with pytest.raises(dsa_rs.InvalidParameterError, match="score_method"):
        dsa_rs.distance(x, y, score_method="cosine")
    with pytest.raises(dsa_rs.InvalidParameterError, match="n_delays"):
        dsa_rs.distance(x, y, n_delays=0)
    with pytest.raises(dsa_rs.InvalidParameterError, match="only one of"):
        dsa_rs.distance(x, y, rank=3, rank_thresh=0.1)
    with pytest.raises(dsa_rs.InvalidParameterError, match="solver='paper'"):
        dsa_rs.distance(x, y, iters=100)
    with pytest.raises(dsa_rs.InvalidParameterError, match="per-dataset list"):
        dsa_rs.pairwise([x, y, x], rank=[2, 3])
    with pytest.raises(dsa_rs.InvalidParameterError, match="per-side"):
        dsa_rs.pairwise([x, y], rank=(2, 3))
    with pytest.raises(TypeError, match="integer"):
        dsa_rs.distance(x, y, n_delays=2.5)
    with pytest.raises(dsa_rs.InvalidParameterError, match="threads"):
        dsa_rs.distance(x, y, threads=0)
    # per-side and per-dataset values
    d = dsa_rs.distance(x, y, n_delays=(2, 3), rank=(3, 3))
    assert d == dsa_rs.distance(x, y, n_delays=[2, 3], rank=3)
    assert dsa_rs.fit(x, n_delays=3, rank="full").rank == 6
    paper = dsa_rs.distance(x, y, n_delays=3, rank=4, solver="paper", iters=50, lr=0.01)
    assert paper >= dsa_rs.distance(x, y, n_delays=3, rank=4) - 1e-9


def test_progress_callback_and_cancel(anchor):
    xs = [wave(0.1 + 0.05 * k, noise=0.1, seed=k) for k in range(5)]
    seen = []
    d = dsa_rs.pairwise(xs, n_delays=3, rank=4, progress=lambda done, total: seen.append((done, total)))
    assert seen and seen[-1] == (10, 10)
    assert all(t == 10 and 1 <= k <= 10 for k, t in seen)
    assert np.array_equal(d, dsa_rs.pairwise(xs, n_delays=3, rank=4))
    # the callable is polled every 0.1 s: a run of about a second sees it
    with pytest.raises(dsa_rs.CancelledError, match="no partial result"):
        dsa_rs.pairwise(list(anchor[:8]), threads=1, progress=lambda done, total: False)


def test_progress_bar(capsys):
    pytest.importorskip("tqdm")
    xs = [wave(0.1 + 0.05 * k, noise=0.1, seed=k) for k in range(4)]
    dsa_rs.pairwise(xs, n_delays=3, rank=4, progress=True)
    assert "6/6" in capsys.readouterr().err


def test_the_interpreter_lock_is_released(anchor):
    """While pairwise runs in one thread, another Python thread keeps running."""
    xs = list(anchor[:14])
    gaps = []
    done = threading.Event()

    def work():
        try:
            dsa_rs.pairwise(xs, n_delays=10, rank=30)
        finally:
            done.set()

    t = threading.Thread(target=work)
    start = time.perf_counter()
    t.start()
    last = time.perf_counter()
    ticks = 0
    while not done.is_set():
        now = time.perf_counter()
        gaps.append(now - last)
        last = now
        ticks += 1
        time.sleep(0.001)
    t.join()
    elapsed = time.perf_counter() - start
    assert elapsed > 0.3, "the work should take a while for this test to mean anything"
    assert ticks > 50 and max(gaps) < 0.25 * elapsed, (ticks, max(gaps), elapsed)


def test_tiles_cover_the_upper_triangle_once():
    from dsa_rs._distributed import _tiles

    for m in range(0, 13):
        for side in range(1, 7):
            tiles = _tiles(m, side)
            pairs = [p for t in tiles for p in t]
            assert sorted(pairs) == [(i, j) for i in range(m) for j in range(i + 1, m)]
            assert all(len({i for i, _ in t} | {j for _, j in t}) <= 2 * side for t in tiles)
