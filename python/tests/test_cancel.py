"""Ctrl-C: a KeyboardInterrupt raised from another thread while pairwise runs ends it with the
exception, within about a second, never with a partial result."""

import _thread
import signal
import threading
import time

import numpy as np
import pytest

import dsa_rs


@pytest.fixture(autouse=True)
def python_handles_sigint():
    """Python raises KeyboardInterrupt on SIGINT only if it installed its handler at start-up,
    which it does not when SIGINT was ignored (a process started in the background by a
    non-interactive shell, as CI may be). Install it for these tests."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


def _interrupt_after(seconds, how):
    def fire():
        if how == "interrupt_main":
            _thread.interrupt_main()
        else:
            signal.pthread_kill(threading.main_thread().ident, signal.SIGINT)

    timer = threading.Timer(seconds, fire)
    timer.start()
    return timer


@pytest.mark.parametrize("how", ["interrupt_main", "pthread_kill"])
def test_keyboard_interrupt_cancels_pairwise(anchor, how):
    assert threading.current_thread() is threading.main_thread()
    xs = list(anchor)  # 20 systems, 190 pairs of size 30: several seconds on two cores
    result = None
    seen = []
    timer = _interrupt_after(0.5, how)
    start = time.perf_counter()
    with pytest.raises(KeyboardInterrupt):
        result = dsa_rs.pairwise(xs, progress=lambda done, total: seen.append(done))
    elapsed = time.perf_counter() - start
    timer.join()
    assert result is None
    assert elapsed < 0.5 + 1.5, f"took {elapsed:.2f} s to stop"
    # the run was cut short (not finished and then interrupted)
    assert not seen or seen[-1] < 190, seen
    # nothing is left running or broken: the next call works
    small = dsa_rs.pairwise(xs[:3], n_delays=3, rank=4)
    assert small.shape == (3, 3)


def test_keyboard_interrupt_cancels_bipartite(anchor):
    timer = _interrupt_after(0.3, "interrupt_main")
    start = time.perf_counter()
    with pytest.raises(KeyboardInterrupt):
        dsa_rs.bipartite(list(anchor[:10]), list(anchor[10:]))
    assert time.perf_counter() - start < 0.3 + 1.5
    timer.join()


def test_a_completed_call_is_not_affected(anchor):
    """A call that ends before any signal returns its matrix."""
    d = dsa_rs.pairwise(list(anchor[:4]), n_delays=3, rank=4)
    assert np.all(np.isfinite(d))
