"""Bad input raises a clear Python exception, never crashes the interpreter."""

import numpy as np
import pytest

import dsa_rs
from conftest import wave

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

GOOD = wave(0.2, noise=0.1)


@pytest.mark.parametrize(
    "bad, error, text",
    [
        (np.zeros(50), dsa_rs.ShapeMismatchError, "1-D array"),
        (np.zeros((2, 2, 50, 2)), dsa_rs.ShapeMismatchError, "4-D array"),
        (np.zeros(()), dsa_rs.ShapeMismatchError, "0-D array"),
        (np.zeros((0, 2)), dsa_rs.EmptyDataError, "no time points"),
        (np.zeros((50, 0)), dsa_rs.EmptyDataError, "no channels"),
        (np.zeros((0, 50, 2)), dsa_rs.EmptyDataError, "no trials"),
        ([], dsa_rs.EmptyDataError, "no trials"),
        (np.full((50, 2), np.nan), dsa_rs.NonFiniteError, "NaN"),
        (np.where(np.arange(100).reshape(50, 2) == 77, np.inf, GOOD[:50]), dsa_rs.NonFiniteError,
         "time 38, channel 1"),
        (np.zeros((50, 2)), dsa_rs.DegenerateError, "all zeros"),
        (np.zeros((1, 2)) + 1.0, dsa_rs.TrialTooShortError, "trial 0"),
        (np.array([[object()] * 2] * 50), TypeError, "dtype object"),
        (GOOD.astype(np.int64), TypeError, "float64 or float32"),
        (GOOD.astype(np.complex128), TypeError, "float64 or float32"),
        (GOOD.astype(">f8"), TypeError, "native byte order"),
        ("data", TypeError, "str"),
        (None, TypeError, "NoneType"),
        # ragged lists with one bad trial
        ([GOOD, GOOD[:, :1]], dsa_rs.ShapeMismatchError, "trial 1 has 1 channels"),
        ([GOOD, np.full((30, 2), np.nan)], dsa_rs.NonFiniteError, "trial 1"),
        ([GOOD, GOOD[:, 0]], dsa_rs.ShapeMismatchError, "y[1] is a 1-D array"),
        ([GOOD, GOOD[None]], dsa_rs.ShapeMismatchError, "y[1] is a 3-D array"),
        ([GOOD, "trial"], TypeError, "y[1] is a str"),
        ([GOOD, GOOD.astype(object)], TypeError, "y[1] has dtype object"),
        ([GOOD, np.zeros((0, 2))], dsa_rs.EmptyDataError, "trial 1"),
        ([GOOD, GOOD[:2]], dsa_rs.TrialTooShortError, "trial 1"),
    ],
)
def test_bad_input_raises(bad, error, text):
    with pytest.raises(error) as info:
        dsa_rs.distance(GOOD, bad, n_delays=3 if error is dsa_rs.TrialTooShortError else None)
    assert text in str(info.value), str(info.value)


def test_bad_lists_of_datasets():
    with pytest.raises(dsa_rs.ShapeMismatchError, match="list of datasets"):
        dsa_rs.pairwise(GOOD[:, 0])  # a 1-D array is not a list of datasets
    with pytest.raises(TypeError, match="list of datasets"):
        dsa_rs.pairwise(3)
    with pytest.raises(dsa_rs.NonFiniteError, match="dataset 2"):
        dsa_rs.pairwise([GOOD, GOOD, np.full((50, 2), np.inf)])
    with pytest.raises(TypeError, match=r"datasets\[1\]"):
        dsa_rs.pairwise([GOOD, {"x": 1}])
    with pytest.raises(dsa_rs.ShapeMismatchError, match="not square|square"):
        dsa_rs.operator_distance(np.eye(3), np.ones((3, 2)))
    with pytest.raises(dsa_rs.SizeMismatchError):
        dsa_rs.operator_distance(np.eye(3), np.eye(4))
    with pytest.raises(dsa_rs.InvalidParameterError, match="pairs"):
        dsa_rs._core.pairwise_block([np.eye(2), np.eye(2)], [(1, 0)])
    with pytest.raises(dsa_rs.InvalidParameterError, match="values"):
        dsa_rs._core.pairwise_finish([np.eye(2), np.eye(2)], np.full((2, 2), np.nan))


DTYPES = [np.float64, np.float32, np.int32, np.complex64, np.bool_, object]
SPECIAL = [0.0, 1.0, -1.0, np.nan, np.inf, -np.inf, 1e300, -1e-300, 5e-324, 1e38]


@st.composite
def wild_arrays(draw):
    """Any number of dimensions, any dtype, special values."""
    ndim = draw(st.integers(0, 4))
    shape = tuple(draw(st.integers(0, 9)) for _ in range(ndim))
    dtype = draw(st.sampled_from(DTYPES))
    size = int(np.prod(shape)) if shape else 1
    values = draw(
        st.lists(
            st.one_of(st.sampled_from(SPECIAL), st.floats(-10, 10)), min_size=size, max_size=size
        )
    )
    a = np.array(values, dtype=np.float64).reshape(shape)
    with np.errstate(all="ignore"):
        a = a.astype(dtype) if dtype is not object else a.astype(object)
    if draw(st.booleans()) and a.ndim >= 2:
        a = np.asfortranarray(a)
    if draw(st.booleans()) and a.ndim >= 1:
        a = a[::-1]
    return a


@st.composite
def plausible_arrays(draw):
    """Time series that mostly fit: 2-D or 3-D float arrays of 4 to 60 time points, random
    values, now and then a special value, a constant channel or a scaled copy."""
    trials = draw(st.sampled_from([None, 1, 2, 3]))
    t, n = draw(st.integers(2, 60)), draw(st.integers(1, 4))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    shape = (t, n) if trials is None else (trials, t, n)
    a = rng.standard_normal(shape).cumsum(axis=-2) * draw(st.sampled_from([1.0, 1e-150, 1e150]))
    if draw(st.integers(0, 9)) == 0:
        a.flat[draw(st.integers(0, a.size - 1))] = draw(st.sampled_from(SPECIAL))
    if draw(st.integers(0, 9)) == 0:
        a[..., 0] = 1.0  # a constant channel
    with np.errstate(over="ignore"):
        a = a.astype(draw(st.sampled_from([np.float64, np.float32])))
    if draw(st.booleans()):
        a = np.asfortranarray(a)
    return a


@st.composite
def datasets(draw):
    kind = ["plausible"] * 6 + ["ragged", "wild", "list", "other"]
    kind = kind[draw(st.integers(0, len(kind) - 1))]
    if kind == "plausible":
        return draw(plausible_arrays())
    if kind == "ragged":
        return [a if a.ndim == 2 else a[0] for a in draw(st.lists(plausible_arrays(), max_size=3))]
    if kind == "wild":
        return draw(wild_arrays())
    if kind == "list":
        return draw(st.lists(wild_arrays(), max_size=3))
    return draw(st.sampled_from([None, 3, "x", [[1.0, 2.0]], {"a": 1}]))


def _mostly(valid, invalid):
    """`valid` nine times in ten."""
    return st.integers(0, 9).flatmap(lambda k: invalid if k == 0 else valid)


PARAMS = st.fixed_dictionaries(
    {},
    optional={
        "n_delays": _mostly(st.integers(1, 4), st.one_of(st.integers(-1, 0), st.just(2.5), st.lists(st.integers(0, 3), max_size=3))),
        "rank": _mostly(st.integers(1, 6), st.one_of(st.just(0), st.just("full"), st.just("half"), st.tuples(st.integers(1, 3), st.integers(1, 3)))),
        "lamb": _mostly(st.floats(0, 1), st.one_of(st.floats(allow_nan=True), st.just(-1.0))),
        "steps_ahead": _mostly(st.integers(1, 3), st.just(0)),
        "score_method": _mostly(st.sampled_from(["angular", "euclidean", "wasserstein"]), st.just("bogus")),
        "size_mismatch": _mostly(st.sampled_from(["error", "zero_pad", "spectral"]), st.just("nope")),
    },
)


@settings(max_examples=600, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(x=datasets(), y=datasets(), params=PARAMS, call=st.sampled_from(["distance", "pairwise", "fit"]))
def test_randomized_inputs_never_crash(x, y, params, call):
    """At least 500 inputs (600 examples), a good share of which compute a value (about a
    quarter, measured): either a finite non-negative result or a DsaError / TypeError."""
    try:
        if call == "distance":
            out = dsa_rs.distance(x, y, **params)
            assert np.isfinite(out) and out >= 0
        elif call == "pairwise":
            out = dsa_rs.pairwise([x, y], **params)
            assert out.shape == (2, 2) and np.all(np.isfinite(out))
        else:
            params.pop("score_method", None), params.pop("size_mismatch", None)
            m = dsa_rs.fit(x, **params)
            assert np.all(np.isfinite(m.operator))
    except (dsa_rs.DsaError, TypeError):
        pass
