"""The boundary between scikit-learn's inputs and lariat's: X and y checked once, in place.

X reaches the compiled module as it is whenever it can: a float32 or float64 numpy array in C
or Fortran order (or a DataFrame of one float dtype, whose values are such an array) is read
in place while the fit runs. Sparse X becomes lariat's compressed sparse columns (CSR is
converted, as lariat solves column by column). Everything else is converted as scikit-learn
converts it (integers to float64, lists to arrays).
"""

from __future__ import annotations

import numbers
from typing import Any, Dict, Optional, Sequence, Tuple, Union

import numpy as np
import scipy.sparse as sp
from sklearn.model_selection import check_cv
from sklearn.utils.validation import validate_data

#: What ``_lariat`` takes as X: an array read in place, or (n, p, indptr, indices, data).
LariatX = Union[np.ndarray, Tuple[int, int, np.ndarray, np.ndarray, np.ndarray]]

_DEVICES = ("auto", "cpu", "gpu")
_WORKING_SETS = ("auto", "on", "off")


def check_fit_data(
    estimator: Any, X: Any, y: Any, *, reset: bool = True
) -> Tuple[Any, np.ndarray]:
    """Validates X and y for ``fit`` (sets ``n_features_in_``, ``feature_names_in_``).

    NaN and infinity are left to lariat, which names the row and column of the first one
    (one pass over X instead of two).
    """
    if sp.issparse(y):
        raise TypeError(
            "y is a sparse matrix, but a dense y is required: pass y.toarray()"
        )
    X, y = validate_data(
        estimator,
        X,
        y,
        reset=reset,
        accept_sparse=("csc", "csr"),
        dtype=[np.float64, np.float32],
        order=None,
        copy=False,
        ensure_all_finite=False,
        multi_output=True,
        y_numeric=True,
    )
    return X, np.asarray(y, dtype=np.float64)


def lariat_X(X: Any) -> LariatX:
    """X as the compiled module takes it."""
    if sp.issparse(X):
        X = X.tocsc()
        if not X.has_canonical_format:
            X = X.copy()
            X.sum_duplicates()
        n, p = X.shape
        return (
            int(n),
            int(p),
            _aligned(X.indptr, np.int64),
            _aligned(X.indices, np.int64),
            _aligned(X.data, np.float64),
        )
    if not X.dtype.isnative:
        X = X.astype(X.dtype.newbyteorder("="))
    if not X.flags.aligned:
        # Read in place, a misaligned buffer (np.frombuffer at an odd offset) would be read
        # through misaligned pointers; a copy in the same order is aligned.
        X = X.copy(order="K")
    return X


def _aligned(a: np.ndarray, dtype: Any) -> np.ndarray:
    """``a`` as a C-contiguous, aligned array of ``dtype`` (copied only when it is not)."""
    return np.require(a, dtype=dtype, requirements=["C", "A"])


def responses(y: np.ndarray) -> np.ndarray:
    """y as ``k x n`` rows (one response per row, contiguous), whether y is 1-D or 2-D."""
    y2 = y.reshape(-1, 1) if y.ndim == 1 else y
    return _aligned(y2.T, np.float64)


def options(
    *,
    l1_ratio: float,
    fit_intercept: bool,
    standardize: bool,
    tol: float,
    max_iter: int,
    device: str,
    adapter: Optional[str],
    strong_rule: bool,
    gap_safe: bool,
    working_sets: str,
) -> Dict[str, Any]:
    """The options dict of ``_lariat`` (lariat checks the numbers and names the bad one)."""
    if device not in _DEVICES:
        raise ValueError(f"device must be one of {_DEVICES}, got {device!r}")
    if working_sets not in _WORKING_SETS:
        raise ValueError(
            f"working_sets must be one of {_WORKING_SETS}, got {working_sets!r}"
        )
    if isinstance(max_iter, bool) or not isinstance(max_iter, (int, np.integer)):
        raise TypeError(f"max_iter must be an int, got {max_iter!r}")
    if max_iter >= 2**63:
        raise ValueError(f"max_iter must be below 2**63, got {max_iter!r}")
    if adapter is not None and not isinstance(adapter, str):
        raise TypeError(f"adapter must be a str or None, got {adapter!r}")
    return {
        "l1_ratio": real("l1_ratio", l1_ratio),
        "fit_intercept": flag("fit_intercept", fit_intercept),
        "standardize": flag("standardize", standardize),
        "tol": real("tol", tol),
        "max_iter": int(max_iter),
        "device": device,
        "adapter": adapter,
        "strong_rule": flag("strong_rule", strong_rule),
        "gap_safe": flag("gap_safe", gap_safe),
        "working_sets": working_sets,
        "extrapolation": True,
    }


def flag(name: str, value: Any) -> bool:
    """A bool parameter, refused when it is anything else ("no" is truthy)."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be a bool, got {value!r}")
    return bool(value)


def real(name: str, value: Any) -> float:
    """A real-number parameter, refused when it is a string, a bool or None (lariat checks
    its range and names it)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {value!r}")
    return float(value)


def grid(
    alphas: Union[None, int, Sequence[float], np.ndarray], n_alphas: int
) -> Tuple[Optional[list], int]:
    """``(explicit alphas in decreasing order, or None; grid size)``.

    ``alphas`` is scikit-learn's: ``None`` (a grid of ``n_alphas``), an int (the grid size,
    scikit-learn >= 1.7's spelling) or the values (sorted in decreasing order, as
    scikit-learn does).
    """
    if alphas is None:
        return None, _grid_size(n_alphas)
    if isinstance(alphas, (int, np.integer)) and not isinstance(alphas, bool):
        return None, _grid_size(alphas)
    if isinstance(alphas, (bool, np.bool_)) or np.ndim(alphas) == 0:
        raise ValueError(
            f"alphas must be None, an int (the grid size) or a sequence of values, got "
            f"{alphas!r}; for one value pass [{alphas!r}]"
        )
    values = np.sort(np.asarray(alphas, dtype=np.float64).ravel())[::-1]
    if values.size == 0:
        raise ValueError("alphas is empty")
    return [float(a) for a in values], int(values.size)


def _grid_size(n: Any) -> int:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"the number of alphas must be an int >= 1, got {n!r}")
    return int(n)


def _row_indices(rows: Any, n: int) -> np.ndarray:
    """A split's rows as indices: scikit-learn's splitters give indices, a hand-made split
    may give a boolean mask of the n rows."""
    rows = np.asarray(rows)
    if rows.dtype == bool:
        if rows.shape != (n,):
            raise ValueError(f"cv: a boolean mask of shape {rows.shape} for {n} rows")
        return np.flatnonzero(rows)
    if rows.size and (not np.issubdtype(rows.dtype, np.integer) or rows.min() < 0 or rows.max() >= n):
        raise ValueError(f"cv: split rows must be indices in [0, {n}) or a boolean mask")
    return rows.astype(np.int64, copy=False)


def fold_labels(cv: Any, X: Any, y: np.ndarray, **split_params: Any) -> np.ndarray:
    """One fold label per row from scikit-learn's ``cv`` (``None``: 5 folds, an int: KFold
    without shuffling, a splitter or an iterable of (train, test)); ``split_params`` (such as
    ``groups``) go to its ``split``.

    lariat's cross-validation holds every row out exactly once, so the test sets must
    partition the rows and each training set must be the rest.
    """
    n = X.shape[0]
    splitter = check_cv(cv, y, classifier=False)
    labels = np.full(n, -1, dtype=np.int64)
    for k, (train, test) in enumerate(splitter.split(X, y, **split_params)):
        train, test = _row_indices(train, n), _row_indices(test, n)
        if np.any(labels[test] >= 0) or np.unique(test).size != test.size:
            raise ValueError(
                f"cv: fold {k} holds out rows that an earlier fold held out (or a row twice); "
                "lariat needs folds whose test sets partition the rows (KFold, GroupKFold, ...)"
            )
        rest = np.setdiff1d(np.arange(n), test)
        if train.size != rest.size or not np.array_equal(np.sort(train), rest):
            raise ValueError(
                f"cv: fold {k} trains on {train.size} rows and tests on {test.size} of {n}, "
                "but its training rows are not exactly the rows it does not test on; lariat "
                "trains each fold on all rows it does not hold out"
            )
        labels[test] = k
    missing = np.flatnonzero(labels < 0)
    if missing.size:
        raise ValueError(
            f"cv: {missing.size} rows (first: row {missing[0]}) are in no test fold; lariat "
            "needs folds whose test sets partition the rows"
        )
    return labels
