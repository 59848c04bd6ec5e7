"""Times dsa_rs, and dsa-metric (the reference) when it is installed, on the same data.

    python python/bench/bench.py [--quick]

1. Binding overhead: ``dsa_rs.operator_distance`` on two 30 x 30 operators (the pairwise
   anchor's systems 0 and 1, n_delays = 10, rank = 30), angular and Wasserstein, medians of
   many calls. Compare with the Rust side, ``cargo bench --bench binding`` (the same
   operators): the difference of the medians is the binding's cost.
2. dsa_rs against dsa-metric: the reference cases of tests/fixtures (one pair each) and the
   pairwise anchor (20 systems, 190 pairs), with the reference's settings (angular, Cayley +
   Adam with 1000 iterations for the reference). When dsa-metric (and torch) is not installed,
   the reference's times recorded in tests/fixtures/*/result.json are used instead, and the
   output says so: they were measured on another machine (2 torch threads).
"""

import argparse
import json
import pathlib
import statistics
import sys
import time

import numpy as np

import dsa_rs

ROOT = pathlib.Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"
PAIR_CASES = ["linear_conjugate", "linear_different", "lorenz_pair_rot", "rank_deficient_ok"]


def median_time(f, repeat, number=1):
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        for _ in range(number):
            f()
        times.append((time.perf_counter() - t) / number)
    return statistics.median(times)


def reference_dsa():
    try:
        from DSA import DSA  # noqa: F401

        return DSA
    except Exception as e:  # torch missing, or dsa-metric missing
        return e


def overhead(repeat):
    data = np.load(FIXTURES / "pairwise_anchor" / "data.npy")
    a = dsa_rs.fit(data[0], n_delays=10, rank=30).operator
    b = dsa_rs.fit(data[1], n_delays=10, rank=30).operator
    print("1. binding overhead: dsa_rs.operator_distance on two 30 x 30 operators")
    for score in ("angular", "wasserstein"):
        f = lambda: dsa_rs.operator_distance(a, b, score)  # noqa: E731
        f()
        number = 1 if score == "angular" else 20
        t = median_time(f, repeat, number)
        print(f"   {score:12s} median {t * 1e6:10.1f} us per call (Python)")
    tiny = np.eye(1)
    t = median_time(lambda: dsa_rs.operator_distance(tiny, tiny, "wasserstein"), repeat, 200)
    print(f"   {'1 x 1':12s} median {t * 1e6:10.1f} us per call (Python; next to no computation)")
    print("   compare: cargo bench --bench binding (binding/operator_distance_30_*)")


def pairs(ref, repeat):
    print("2. dsa_rs against dsa-metric, one pair per case (angular)")
    rows = []
    for case in PAIR_CASES:
        cfg = json.loads((FIXTURES / case / "case.json").read_text())
        res = json.loads((FIXTURES / case / "result.json").read_text())
        x, y = np.load(FIXTURES / case / "X.npy"), np.load(FIXTURES / case / "Y.npy")
        d = cfg["dmd"]
        kw = dict(n_delays=d["n_delays"], delay_interval=d["delay_interval"], rank=d["rank"],
                  lamb=d["lamb"])
        ours_value = dsa_rs.DSA(x, y, score_method="angular", **kw).fit_score()
        ours = median_time(lambda: dsa_rs.DSA(x, y, score_method="angular", **kw).fit_score(), repeat)
        if isinstance(ref, Exception):
            theirs = res["dsa"]["angular"]["time_s"]
            their_value = res["dsa"]["angular"]["score"]
            source = "recorded"
        else:
            t = time.perf_counter()
            their_value = ref(x, y, score_method="angular", iters=1000, lr=0.01, **kw).fit_score()
            theirs = time.perf_counter() - t
            source = "measured"
        rows.append((case, ours, theirs, source))
        print(f"   {case:20s} dsa_rs {ours * 1e3:8.1f} ms ({ours_value:.6f})   dsa-metric "
              f"{theirs * 1e3:9.1f} ms ({their_value:.6f}, {source})   ratio {theirs / ours:7.1f}")
    return rows


def anchor(ref, quick):
    data = np.load(FIXTURES / "pairwise_anchor" / "data.npy")
    res = json.loads((FIXTURES / "pairwise_anchor" / "result.json").read_text())
    print("3. the pairwise anchor: 20 systems, 190 pairs, n_delays = 10, rank = 30, angular")
    t = time.perf_counter()
    ours = dsa_rs.pairwise(list(data), n_delays=10, rank=30)
    ours_t = time.perf_counter() - t
    if isinstance(ref, Exception) or quick:
        theirs_t, source = res["total_time_s"], "recorded"
    else:
        t = time.perf_counter()
        ref(list(data), n_delays=10, rank=30, score_method="angular", iters=1000, lr=0.01).fit_score()
        theirs_t, source = time.perf_counter() - t, "measured"
    worse = int(np.sum(np.triu(ours - np.array(res["matrix"]), 1) > 1e-3))
    print(f"   dsa_rs {ours_t:.2f} s, dsa-metric {theirs_t:.1f} s ({source}), ratio "
          f"{theirs_t / ours_t:.0f}; entries above the reference + 1e-3: {worse}")


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="fewer repeats; never run the reference's anchor")
    args = p.parse_args()
    repeat = 5 if args.quick else 30
    ref = reference_dsa()
    print(f"dsa_rs {dsa_rs.__version__}, numpy {np.__version__}, Python {sys.version.split()[0]}")
    if isinstance(ref, Exception):
        print(f"dsa-metric is not importable here ({type(ref).__name__}: {ref}); its times are "
              "the ones recorded in tests/fixtures (another machine, 2 torch threads)")
    overhead(repeat)
    pairs(ref, max(3, repeat // 5))
    anchor(ref, args.quick)


if __name__ == "__main__":
    main()
