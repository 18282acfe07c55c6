"""Shared data and the GPU rule of lariat's tests: GPU tests skip with the reason when no
adapter opens, unless LARIAT_REQUIRE_GPU=1 (CI), which makes them fail."""

import os

import numpy as np
import pytest


def wide_problem(n=63, p=200, k=5, seed=0, order="F"):
    """A seeded wide regression: k true features, noise, an offset (so the intercept
    matters). n = 63 is not a multiple of 5, so 5 folds have unequal sizes."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p))
    X[:, : p // 2] += 1.5  # non-zero column means: centring matters
    w = np.zeros(p)
    w[:k] = rng.choice([-1, 1], size=k) * rng.uniform(1, 3, size=k)
    y = X @ w + 0.5 * rng.normal(size=n) + 2.0
    return np.asarray(X, order=order), y


def alpha_max(X, y, l1_ratio=1.0):
    n = X.shape[0]
    return np.max(np.abs((X - X.mean(0)).T @ (y - y.mean()))) / (n * l1_ratio)


def rel_err(a, b):
    """max |a - b| relative to max |b|."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-300))


def require_gpu():
    return os.environ.get("LARIAT_REQUIRE_GPU") == "1"


@pytest.fixture
def gpu():
    """Skips (or fails, under LARIAT_REQUIRE_GPU=1) when no GPU adapter can be opened."""
    import lariat

    X, y = wide_problem(n=20, p=30)
    try:
        lariat.Lasso(alpha=0.1, device="gpu").fit(X, y)
    except RuntimeError as e:
        if require_gpu():
            pytest.fail(f"LARIAT_REQUIRE_GPU=1 but no GPU adapter opened: {e}")
        pytest.skip(f"no GPU adapter: {e}")
