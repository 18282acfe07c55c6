"""The GIL is released during a fit, Ctrl-C stops a long one within a second, the device
handle is shared by every fit of the process, and the GPU path runs from Python."""

import multiprocessing
import os
import resource
import signal
import threading
import time
import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

import lariat
from conftest import rel_err, wide_problem


def long_cv():
    """A cross-validation that runs for many seconds on this machine (tiny tol, long grid)."""
    X, y = wide_problem(n=200, p=20_000, k=40, seed=21)
    est = lariat.LassoCV(cv=10, n_alphas=300, eps=1e-4, tol=1e-14, max_iter=100_000)
    return est, X, y


def test_gil_is_released_during_a_fit():
    est, X, y = long_cv()
    est.set_params(n_alphas=40, eps=1e-2, tol=1e-8)
    ticks = []
    stop = threading.Event()

    def count():
        while not stop.is_set():
            ticks.append(1)
            time.sleep(0.001)

    fit_done = []
    worker = threading.Thread(target=lambda: fit_done.append(est.fit(X, y)))
    t0 = time.perf_counter()
    worker.start()
    counter = threading.Thread(target=count)
    counter.start()
    worker.join()
    elapsed = time.perf_counter() - t0
    stop.set()
    counter.join()
    assert fit_done, "the fit did not finish"
    # Python kept running beside the fit: at least a tenth of the ticks it could have made.
    assert elapsed > 0.05 and len(ticks) > 0.1 * elapsed / 0.0012, (len(ticks), elapsed)


def test_ctrl_c_stops_a_long_fit_within_a_second():
    est, X, y = long_cv()
    main = threading.get_ident()
    sent = []

    def interrupt():
        sent.append(time.perf_counter())
        signal.pthread_kill(main, signal.SIGINT)

    timer = threading.Timer(1.0, interrupt)
    t0 = time.perf_counter()
    timer.start()
    with pytest.raises(KeyboardInterrupt):
        est.fit(X, y)
    stopped = time.perf_counter()
    timer.join()
    assert sent, "the fit ended before the signal was sent"
    assert stopped - sent[0] < 1.0, f"took {stopped - sent[0]:.2f} s to stop"
    # The stop request is withdrawn: the next fit runs to the end.
    m = lariat.Lasso(alpha=0.5).fit(X[:, :500], y)
    assert np.count_nonzero(m.coef_) > 0
    assert stopped - t0 < 5.0


def test_ctrl_c_stops_only_the_interrupted_call():
    """A fit running in another thread is not stopped by this thread's Ctrl-C: the main
    thread's fit waits for the engine the other one holds, and is cancelled alone."""
    est, X, y = long_cv()
    other = []
    worker = threading.Thread(
        target=lambda: other.append(
            # Many seconds on a 2-core machine.
            lariat.LassoCV(cv=10, n_alphas=100, eps=1e-3, tol=1e-10, max_iter=100_000).fit(X, y)
        )
    )
    worker.start()
    time.sleep(0.3)  # the other fit holds the engine now
    main = threading.get_ident()
    sent = []

    def interrupt():
        sent.append((time.perf_counter(), worker.is_alive()))
        signal.pthread_kill(main, signal.SIGINT)

    timer = threading.Timer(0.5, interrupt)
    timer.start()
    with pytest.raises(KeyboardInterrupt):
        est.fit(X, y)
    stopped = time.perf_counter()
    timer.join()
    assert sent[0][1], "the other thread's fit ended before the signal: nothing was waiting"
    # Cancelled while waiting for the engine: it returns at once, not when the other thread's
    # fit ends.
    assert stopped - sent[0][0] < 1.0, f"took {stopped - sent[0][0]:.2f} s to stop"
    worker.join()
    assert other, "the other thread's fit was stopped too"
    assert np.count_nonzero(other[0].coef_) > 0
    # Nothing is left standing: the next fit runs to the end.
    assert np.count_nonzero(lariat.Lasso(alpha=0.5).fit(X[:, :500], y).coef_) > 0


def _fit_in_child(X, y):
    return lariat.Lasso(alpha=0.3).fit(X, y).coef_


@pytest.mark.skipif(
    "fork" not in multiprocessing.get_all_start_methods(), reason="no fork start method"
)
def test_a_forked_child_fits_after_the_parent():
    """After a fit, a child made by fork() (multiprocessing's default start method on Linux
    before Python 3.14, joblib's multiprocessing backend) fits too: the threads of the
    parent's pool are not in the child, which used to wait for them forever."""
    X, y = wide_problem(seed=27)
    want = lariat.Lasso(alpha=0.3).fit(X, y).coef_
    with warnings.catch_warnings():
        # Python 3.12+ warns that forking a process with threads may deadlock.
        warnings.simplefilter("ignore", DeprecationWarning)
        with multiprocessing.get_context("fork").Pool(1) as pool:
            got = pool.apply_async(_fit_in_child, (X, y)).get(timeout=120)
    np.testing.assert_array_equal(got, want)


def test_unconverged_folds_are_warned_about():
    """A fold's fit that stops above its tolerance feeds mse_path_ and alpha_: it is said."""
    rng = np.random.default_rng(2)
    n, p = 40, 500
    Z = rng.normal(size=(n, p))
    X = np.empty_like(Z)
    X[:, 0] = Z[:, 0]
    for j in range(1, p):
        X[:, j] = 0.97 * X[:, j - 1] + np.sqrt(1 - 0.97**2) * Z[:, j]
    y = X[:, [10, 200, 400]] @ [2.0, -3.0, 1.5] + 0.5 * rng.normal(size=n)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        lariat.LassoCV(cv=5, n_alphas=30, tol=1e-10, max_iter=300).fit(X, y)
    folds = [w for w in caught if "of the folds' fits" in str(w.message)]
    assert folds, [str(w.message) for w in caught]
    assert all(issubclass(w.category, ConvergenceWarning) for w in folds)


def test_fits_share_one_engine_per_device():
    X, y = wide_problem(seed=22)
    for k in range(20):
        lariat.Lasso(alpha=0.1 + 0.01 * k, device="cpu").fit(X, y)
    names = lariat._lariat.open_engines()
    assert names.count(("cpu", None)) == 1, names


def rss_mb():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 2**20


def test_gpu_fit_matches_cpu(gpu):
    X, y = wide_problem(seed=23)
    cpu = lariat.Lasso(alpha=0.3, device="cpu", tol=1e-8).fit(X, y)
    dev = lariat.Lasso(alpha=0.3, device="gpu", tol=1e-8).fit(X, y)
    assert dev.device_.startswith("gpu"), dev.device_
    # Both certified to the same gap tolerance: equal within what that allows.
    assert rel_err(dev.coef_, cpu.coef_) < 1e-3
    assert dev.dual_gap_ <= 1e-8 * np.var(y)
    # float32 X uploads as it is.
    dev32 = lariat.Lasso(alpha=0.3, device="gpu", tol=1e-8).fit(X.astype(np.float32), y)
    assert rel_err(dev32.coef_, cpu.coef_) < 1e-3


def test_gpu_paths_and_many_responses(gpu):
    X, y = wide_problem(seed=24)
    Y = np.column_stack([y, 2 * y + 1])
    a, c, g = lariat.lasso_path(X, Y, n_alphas=8, eps=0.05, device="gpu", tol=1e-8)
    ra, rc, rg = lariat.lasso_path(X, Y, n_alphas=8, eps=0.05, device="cpu", tol=1e-8)
    assert c.shape == (2, X.shape[1], 8)
    np.testing.assert_allclose(a, ra, rtol=1e-12)
    assert rel_err(c, rc) < 1e-3


def test_gpu_cross_validation_matches_cpu(gpu):
    X, y = wide_problem(seed=26)
    kw = dict(cv=4, n_alphas=12, eps=0.05, tol=1e-8)
    cpu = lariat.LassoCV(device="cpu", **kw).fit(X, y)
    dev = lariat.LassoCV(device="gpu", **kw).fit(X, y)
    np.testing.assert_allclose(dev.alphas_, cpu.alphas_, rtol=1e-12)
    np.testing.assert_allclose(dev.mse_path_, cpu.mse_path_, rtol=1e-3)
    assert dev.alpha_ == cpu.alpha_


def test_gpu_loop_reuses_the_device(gpu):
    """Fitting in a loop opens the GPU once: one engine, and memory that stops growing."""
    X, y = wide_problem(seed=25)
    fit = lambda k: lariat.Lasso(alpha=0.2 + 0.01 * k, device="gpu").fit(X, y)
    for k in range(5):
        fit(k)
    before = rss_mb()
    for k in range(30):
        fit(k)
    grown = rss_mb() - before
    assert [e for e in lariat._lariat.open_engines() if e[0] == "gpu"] == [("gpu", None)]
    assert grown < 30, f"resident memory grew by {grown:.0f} MB over 30 fits"
