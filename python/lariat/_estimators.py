"""Lasso and Elastic Net with scikit-learn's API, solved by lariat.

The objective, in scikit-learn's units (lariat's ``lambda`` is scikit-learn's ``alpha``)::

    1 / (2 n_samples) ||y - X w - b||^2 + alpha (l1_ratio ||w||_1 + (1 - l1_ratio) / 2 ||w||^2)

and the stopping rule is scikit-learn's too: the duality gap below ``tol ||y - mean(y)||^2 /
n_samples``. So the same ``alpha`` and ``tol`` give the same model as scikit-learn's.
"""

from __future__ import annotations

import warnings
from typing import Any, Dict, List, Optional, Union

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.extmath import safe_sparse_dot
from sklearn.utils.validation import check_is_fitted, validate_data

from . import _input
from . import _lariat

ArrayLike = Any


class _LariatRegressor(RegressorMixin, BaseEstimator):
    """What every lariat estimator shares: the lariat options and ``predict``."""

    def _options(self, l1_ratio: float) -> Dict[str, Any]:
        return _input.options(
            l1_ratio=l1_ratio,
            fit_intercept=self.fit_intercept,
            standardize=self.standardize,
            tol=self.tol,
            max_iter=self.max_iter,
            device=self.device,
            adapter=self.adapter,
            strong_rule=self.strong_rule,
            gap_safe=self.gap_safe,
            working_sets=self.working_sets,
        )

    def predict(self, X: ArrayLike) -> np.ndarray:
        """Predicts with the fitted linear model.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_targets)
            ``X @ coef_.T + intercept_``.
        """
        check_is_fitted(self)
        X = validate_data(
            self,
            X,
            reset=False,
            accept_sparse=("csc", "csr"),
            dtype=[np.float64, np.float32],
        )
        return safe_sparse_dot(X, np.asarray(self.coef_).T, dense_output=True) + self.intercept_

    def __sklearn_tags__(self):  # type: ignore[no-untyped-def]
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.target_tags.multi_output = True
        return tags


def _dense(indices: np.ndarray, values: np.ndarray, p: int) -> np.ndarray:
    w = np.zeros(p)
    w[indices] = values
    return w


def _warn_unconverged(path: Dict[str, Any], what: str) -> None:
    bad = np.flatnonzero(~path["converged"])
    if bad.size:
        k = bad[0]
        warnings.warn(
            f"{what}: lariat did not converge at alpha = {path['lambdas'][k]:.6g} "
            f"({bad.size} of {len(path['lambdas'])} alphas): duality gap "
            f"{path['gap'][k]:.3e} > tolerance {path['gap_tol'][k]:.3e} after "
            f"{path['n_iter'][k]} iterations; increase max_iter",
            ConvergenceWarning,
            stacklevel=3,
        )


def _squeeze(values: List[Any], multi: bool) -> Any:
    """scikit-learn's convention: one target gives scalars, several give arrays."""
    return np.asarray(values) if multi else values[0]


class ElasticNet(_LariatRegressor):
    """Linear regression with combined L1 and L2 priors, solved by lariat.

    Minimises ``1 / (2 n_samples) ||y - X w - b||^2 + alpha l1_ratio ||w||_1 + alpha (1 -
    l1_ratio) / 2 ||w||^2`` until the duality gap is certified below ``tol ||y -
    mean(y)||^2 / n_samples``, exactly scikit-learn's ``ElasticNet`` objective and rule.

    Parameters
    ----------
    alpha : float, default=1.0
        Penalty strength, > 0 (lariat's ``lambda``).
    l1_ratio : float, default=0.5
        Mix of L1 and L2 in [0, 1]: 1 is the Lasso, 0 is Ridge.
    fit_intercept : bool, default=True
        Fit an intercept (by implicit centring: sparse X stays sparse).
    tol : float, default=1e-4
        Relative duality-gap tolerance, in scikit-learn's units.
    max_iter : int, default=1000
        Most coordinate-descent sweeps (gradient steps on the GPU).
    warm_start : bool, default=False
        When True, a new ``fit`` starts from the previous ``coef_`` (if its shape fits the
        data), as scikit-learn does; otherwise from zero.
    standardize : bool, default=False
        glmnet's ``standardize=TRUE``: penalise the coefficients of columns scaled to unit
        variance; ``coef_`` is on the original scale.
    device : {"auto", "cpu", "gpu"}, default="auto"
        ``"auto"``: a hardware GPU for problems of at least 10**7 entries, else the f64 CPU
        solver; ``"gpu"``: any adapter, software ones included; ``"cpu"``.
    adapter : str, default=None
        A substring of the GPU adapter's name (as ``lariat info`` lists them).
    strong_rule, gap_safe : bool, default=True
        Screening rules (switch off only for ablations).
    working_sets : {"auto", "on", "off"}, default="auto"
        Working sets (on the GPU by default).

    Attributes
    ----------
    coef_ : ndarray of shape (n_features,) or (n_targets, n_features)
        Coefficients; one row per response when y is 2-D (each response is its own model,
        all fitted in one batch over X). Always float64, also for a float32 X (where
        scikit-learn returns float32): the solve and its certificate are in f64.
    intercept_ : float or ndarray of shape (n_targets,)
    n_iter_ : int or list of int
        Iterations the solver ran.
    dual_gap_ : float or ndarray of shape (n_targets,)
        Duality gap reached, in the units of the objective above (as scikit-learn's).
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Defined when X is a DataFrame with string column names.
    device_ : str
        Where the fit ran (``"cpu"``, ``"gpu"``, ``"gpu+cpu-polish"``).

    Examples
    --------
    >>> import numpy as np
    >>> from lariat import ElasticNet
    >>> X = np.asfortranarray(np.random.default_rng(0).normal(size=(50, 200)))
    >>> y = 2 * X[:, 0] + X[:, 1]
    >>> model = ElasticNet(alpha=0.1, l1_ratio=0.7).fit(X, y)
    >>> bool(model.coef_[0] > 1)
    True
    """

    def __init__(
        self,
        alpha: float = 1.0,
        *,
        l1_ratio: float = 0.5,
        fit_intercept: bool = True,
        tol: float = 1e-4,
        max_iter: int = 1000,
        warm_start: bool = False,
        standardize: bool = False,
        device: str = "auto",
        adapter: Optional[str] = None,
        strong_rule: bool = True,
        gap_safe: bool = True,
        working_sets: str = "auto",
    ) -> None:
        self.alpha = alpha
        self.l1_ratio = l1_ratio
        self.fit_intercept = fit_intercept
        self.tol = tol
        self.max_iter = max_iter
        self.warm_start = warm_start
        self.standardize = standardize
        self.device = device
        self.adapter = adapter
        self.strong_rule = strong_rule
        self.gap_safe = gap_safe
        self.working_sets = working_sets

    def fit(self, X: ArrayLike, y: ArrayLike, **params: Any) -> "ElasticNet":
        """Fits the model.

        Parameters
        ----------
        X : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_features)
            Training data; float32/float64 arrays in C or Fortran order are read in place.
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
            Target(s); a 2-D y fits one model per column in one batch.
        **params : dict
            scikit-learn's ``sample_weight`` (only None: weights are not supported, and the
            signature does not claim them, so scikit-learn's checks do not assume them) and
            ``check_input`` (the input is always checked); any other name is a TypeError.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        unknown = sorted(set(params) - {"sample_weight", "check_input"})
        if unknown:
            raise TypeError(
                f"{type(self).__name__}.fit() got an unexpected keyword argument '{unknown[0]}'"
            )
        if params.get("sample_weight") is not None:
            raise TypeError(f"{type(self).__name__}.fit does not support sample_weight")
        X, y = _input.check_fit_data(self, X, y)
        p = X.shape[1]
        paths = _lariat.fit_path(
            _input.lariat_X(X),
            _input.responses(y),
            self._options(self.l1_ratio),
            lambdas=[_input.real("alpha", self.alpha)],
            coef_init=self._coef_init(y, p),
        )
        for path in paths:
            _warn_unconverged(path, type(self).__name__)
        multi = y.ndim == 2 and y.shape[1] > 1
        coefs = [_dense(q["indices"][0], q["values"][0], p) for q in paths]
        self.coef_ = np.vstack(coefs) if multi else coefs[0]
        # scikit-learn's shapes: 0.0 without an intercept; one per column of a 2-D y, even one.
        intercepts = [float(q["intercept"][0]) for q in paths]
        if not self.fit_intercept:
            self.intercept_ = 0.0
        elif y.ndim == 2:
            self.intercept_ = np.asarray(intercepts)
        else:
            self.intercept_ = np.float64(intercepts[0])  # scikit-learn's type
        self.n_iter_ = [int(q["n_iter"][0]) for q in paths] if multi else int(paths[0]["n_iter"][0])
        self.dual_gap_ = _squeeze([float(q["gap"][0]) for q in paths], multi)
        self.device_ = paths[0]["device"]
        return self


    @property
    def sparse_coef_(self) -> Any:
        """``coef_`` as a ``scipy.sparse`` CSR matrix of one row per response (scikit-learn's
        attribute)."""
        from scipy import sparse

        return sparse.csr_matrix(np.atleast_2d(self.coef_))

    def _coef_init(self, y: np.ndarray, p: int) -> Optional[np.ndarray]:
        """The previous ``coef_`` as one row per response, when ``warm_start`` asks for it and
        its shape fits this fit's data; else None (start from zero)."""
        prev = getattr(self, "coef_", None) if self.warm_start else None
        if prev is None:
            return None
        rows = np.atleast_2d(np.asarray(prev, dtype=np.float64))
        targets = y.shape[1] if y.ndim == 2 else 1
        if rows.shape != (targets, p):
            return None
        return np.ascontiguousarray(rows)


class Lasso(ElasticNet):
    """Linear model trained with an L1 prior (the Lasso), solved by lariat.

    Minimises ``1 / (2 n_samples) ||y - X w - b||^2 + alpha ||w||_1``: scikit-learn's
    ``Lasso``, with its stopping rule (duality gap below ``tol ||y - mean(y)||^2 /
    n_samples``).

    Parameters
    ----------
    alpha : float, default=1.0
        Penalty strength, > 0.
    fit_intercept, tol, max_iter, warm_start, standardize, device, adapter, strong_rule, \
gap_safe, working_sets
        As in :class:`ElasticNet`.

    Attributes
    ----------
    coef_, intercept_, n_iter_, dual_gap_, n_features_in_, feature_names_in_, device_
        As in :class:`ElasticNet`.

    Examples
    --------
    >>> import numpy as np
    >>> from lariat import Lasso
    >>> X = np.random.default_rng(0).normal(size=(50, 200))
    >>> y = 3 * X[:, 5]
    >>> np.flatnonzero(Lasso(alpha=0.5).fit(X, y).coef_).tolist()
    [5]
    """

    def __init__(
        self,
        alpha: float = 1.0,
        *,
        fit_intercept: bool = True,
        tol: float = 1e-4,
        max_iter: int = 1000,
        warm_start: bool = False,
        standardize: bool = False,
        device: str = "auto",
        adapter: Optional[str] = None,
        strong_rule: bool = True,
        gap_safe: bool = True,
        working_sets: str = "auto",
    ) -> None:
        super().__init__(
            alpha=alpha,
            l1_ratio=1.0,
            fit_intercept=fit_intercept,
            tol=tol,
            max_iter=max_iter,
            warm_start=warm_start,
            standardize=standardize,
            device=device,
            adapter=adapter,
            strong_rule=strong_rule,
            gap_safe=gap_safe,
            working_sets=working_sets,
        )


def enet_path(
    X: ArrayLike,
    y: ArrayLike,
    *,
    l1_ratio: float = 0.5,
    eps: float = 1e-3,
    n_alphas: int = 100,
    alphas: Union[None, int, ArrayLike] = None,
    fit_intercept: bool = False,
    return_n_iter: bool = False,
    tol: float = 1e-4,
    max_iter: int = 1000,
    standardize: bool = False,
    device: str = "auto",
    adapter: Optional[str] = None,
    strong_rule: bool = True,
    gap_safe: bool = True,
    working_sets: str = "auto",
) -> tuple:
    """Computes the Elastic-Net path, each fit warm-started from the previous one.

    Parameters
    ----------
    X : {array-like, sparse matrix} of shape (n_samples, n_features)
        Training data.
    y : array-like of shape (n_samples,) or (n_samples, n_targets)
        Target(s). A 2-D y fits each column as its own model, on its own grid, in one
        batch (scikit-learn's ``enet_path`` solves the multi-task problem instead).
    l1_ratio : float, default=0.5
        Mix of L1 and L2 in [0, 1].
    eps : float, default=1e-3
        ``alpha_min / alpha_max`` of the grid.
    n_alphas : int, default=100
        Grid size.
    alphas : array-like or int, default=None
        The alphas (solved in decreasing order); an int is the grid size.
    fit_intercept : bool, default=False
        As scikit-learn's path functions: no intercept, X and y used as they are.
    return_n_iter : bool, default=False
        Also return the iterations of each fit.
    tol, max_iter, standardize, device, adapter, strong_rule, gap_safe, working_sets
        As in :class:`ElasticNet`.

    Returns
    -------
    alphas : ndarray of shape (n_alphas,) or (n_targets, n_alphas)
    coefs : ndarray of shape (n_features, n_alphas) or (n_targets, n_features, n_alphas)
        The second for any 2-D y, one column included (as scikit-learn's); the coefficients
        are float64 whatever X's dtype.
    dual_gaps : ndarray of shape (n_alphas,) or (n_targets, n_alphas)
    n_iters : ndarray of the shape of dual_gaps
        Only when ``return_n_iter``.
    """
    est = ElasticNet(
        l1_ratio=l1_ratio,
        fit_intercept=fit_intercept,
        tol=tol,
        max_iter=max_iter,
        standardize=standardize,
        device=device,
        adapter=adapter,
        strong_rule=strong_rule,
        gap_safe=gap_safe,
        working_sets=working_sets,
    )
    X, y = validate_data(
        est,
        X,
        y,
        accept_sparse=("csc", "csr"),
        dtype=[np.float64, np.float32],
        order=None,
        copy=False,
        ensure_all_finite=False,
        multi_output=True,
        y_numeric=True,
    )
    values, size = _input.grid(alphas, n_alphas)
    if values is None and l1_ratio == 0:
        # scikit-learn's refusal: Ridge has no alpha_max to start a grid from.
        raise ValueError(
            "Automatic alpha grid generation is not supported for l1_ratio=0; give the "
            "alphas (alphas=[...])"
        )
    paths = _lariat.fit_path(
        _input.lariat_X(X),
        _input.responses(np.asarray(y, dtype=np.float64)),
        est._options(l1_ratio),
        lambdas=values,
        n_lambdas=size,
        min_ratio=float(eps),
    )
    p = X.shape[1]
    for path in paths:
        _warn_unconverged(path, "enet_path")
    coefs = [
        np.column_stack([_dense(i, v, p) for i, v in zip(q["indices"], q["values"])])
        for q in paths
    ]
    multi = np.ndim(y) == 2 and np.shape(y)[1] > 1
    out = [
        _squeeze([q["lambdas"] for q in paths], multi),
        # scikit-learn's: a 2-D y of one column keeps its target axis on the coefficients.
        _squeeze(coefs, np.ndim(y) == 2),
        _squeeze([q["gap"] for q in paths], multi),
    ]
    if return_n_iter:
        out.append(_squeeze([q["n_iter"] for q in paths], multi))
    return tuple(out)


def lasso_path(
    X: ArrayLike,
    y: ArrayLike,
    *,
    eps: float = 1e-3,
    n_alphas: int = 100,
    alphas: Union[None, int, ArrayLike] = None,
    **params: Any,
) -> tuple:
    """Computes the Lasso path: :func:`enet_path` with ``l1_ratio=1``.

    Parameters
    ----------
    X, y, eps, n_alphas, alphas
        As in :func:`enet_path`.
    **params
        The other keywords of :func:`enet_path` (``fit_intercept``, ``tol``, ``device``,
        ``return_n_iter``, ...).

    Returns
    -------
    alphas, coefs, dual_gaps[, n_iters]
        As in :func:`enet_path`.
    """
    return enet_path(X, y, l1_ratio=1.0, eps=eps, n_alphas=n_alphas, alphas=alphas, **params)


# scikit-learn's estimators carry their path function (``Lasso.path(X, y)``).
ElasticNet.path = staticmethod(enet_path)  # type: ignore[attr-defined]
Lasso.path = staticmethod(lasso_path)  # type: ignore[attr-defined]
