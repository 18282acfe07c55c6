"""Cross-validated Lasso and Elastic Net: lariat's K-fold cross-validation (all folds and the
full data in one batch over one X) behind scikit-learn's ``LassoCV`` / ``ElasticNetCV``.

Two choices of alpha are reported. ``alpha_`` is scikit-learn's: the alpha of the smallest
*unweighted* mean over folds of ``mse_path_`` (so the same folds give scikit-learn's
``alpha_``). ``lambda_min_`` and ``lambda_1se_`` are cv.glmnet's, from ``cvm_`` (the mean
weighted by fold size) and ``cvsd_`` (its standard error over the folds; with fewer than 3
rows a fold on average, over the rows' held-out errors, as cv.glmnet then enforces
``grouped = FALSE``); ``lambda_min_`` differs from ``alpha_`` only when fold sizes differ.
"""

from __future__ import annotations

import warnings
from typing import Any, Dict, List, Optional, Sequence, Union

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import check_cv

from . import _input
from . import _lariat
from ._estimators import (
    ArrayLike,
    _dense,
    _LariatRegressor,
    _warn_unconverged,
    enet_path,
    lasso_path,
)


def _warn_unconverged_folds(res: "_CvResult", what: str) -> None:
    """The folds' fits feed ``mse_path_`` and so ``alpha_``: one that stopped above its
    tolerance is said, as scikit-learn warns for each fit of its folds."""
    if res.unconverged_folds:
        fold, k = res.unconverged_folds[0]
        warnings.warn(
            f"{what}: lariat did not converge on {len(res.unconverged_folds)} of the folds' "
            f"fits (first: fold {fold} at alpha = {res.alphas[k]:.6g}); their held-out "
            "errors come from uncertified fits; increase max_iter",
            ConvergenceWarning,
            stacklevel=3,
        )


class _CvResult:
    """One response's cross-validation at one l1_ratio, in scikit-learn's shapes."""

    def __init__(self, cv: Dict[str, Any], p: int) -> None:
        path = cv["path"]
        self.path = path
        self.alphas = path["lambdas"]
        self.mse_path = cv["cvraw"].T  # (n_alphas, n_folds), as scikit-learn
        self.mean_mse = self.mse_path.mean(axis=1)
        self.best = int(np.argmin(self.mean_mse))  # first minimum: the largest alpha
        self.cvm, self.cvsd = cv["cvm"], cv["cvsd"]
        self.lambda_min = float(self.alphas[cv["index_min"]])
        self.lambda_1se = float(self.alphas[cv["index_1se"]])
        # (fold, alpha index) of the fold fits that stopped above their tolerance.
        self.unconverged_folds = list(cv["unconverged_folds"])
        self.p = p

    def coef(self) -> np.ndarray:
        return _dense(self.path["indices"][self.best], self.path["values"][self.best], self.p)


class ElasticNetCV(_LariatRegressor):
    """Elastic Net with alpha (and l1_ratio) chosen by K-fold cross-validation, by lariat.

    Every fold is solved along the full data's grid, centred (and standardized) on its own
    training rows, all folds and the full data in one batch; the final model is the
    full-data fit at the chosen alpha.

    Parameters
    ----------
    l1_ratio : float or list of float, default=0.5
        Mix of L1 and L2 in [0, 1]; a list is searched too (the best pair wins).
    eps : float, default=1e-3
        ``alpha_min / alpha_max`` of the grid.
    n_alphas : int, default=100
        Grid size.
    alphas : array-like or int, default=None
        The alphas (decreasing order); an int is the grid size.
    fit_intercept : bool, default=True
    tol : float, default=1e-4
        Relative duality-gap tolerance (scikit-learn's units).
    max_iter : int, default=1000
    cv : int, cross-validation generator or iterable, default=None
        scikit-learn's: ``None`` is 5 folds, an int is ``KFold`` without shuffling. The test
        sets must partition the rows.
    standardize, device, adapter, strong_rule, gap_safe, working_sets
        As in :class:`ElasticNet` (on the GPU, the folds are one batch there too).

    Attributes
    ----------
    alpha_ : float or ndarray of shape (n_targets,)
        scikit-learn's choice: the smallest mean (over folds) of ``mse_path_``.
    l1_ratio_ : float
        The chosen l1_ratio.
    coef_ : ndarray of shape (n_features,) or (n_targets, n_features)
    intercept_ : float or ndarray of shape (n_targets,)
    alphas_ : ndarray of shape (n_alphas,), (n_l1_ratio, n_alphas) or (n_targets, n_alphas)
        Given alphas are one list, (n_alphas,), whatever the number of l1_ratios, as in
        scikit-learn; a grid is one per l1_ratio.
    mse_path_ : ndarray of shape (n_alphas, n_folds), (n_l1_ratio, n_alphas, n_folds) or
        (n_targets, n_alphas, n_folds)
        Held-out mean squared error of each fold's model. For one response every axis of
        length 1 is dropped, as scikit-learn does: one alpha gives (n_folds,).
    cvm_, cvsd_ : ndarray of shape (n_alphas,), (n_l1_ratio, n_alphas) or (n_targets, n_alphas)
        cv.glmnet's ``cvm`` (mean weighted by fold size) and ``cvsd`` (over the folds, or,
        with fewer than 3 rows a fold on average, over the rows: cv.glmnet's
        ``grouped = FALSE``).
    lambda_min_, lambda_1se_ : float or ndarray
        cv.glmnet's ``lambda.min`` and ``lambda.1se``.
    n_iter_ : int or list of int
        Iterations of the final model.
    dual_gap_ : float or ndarray of shape (n_targets,)
        Duality gap of the final model.
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (n_features_in_,)
    device_ : str

    Examples
    --------
    >>> import numpy as np
    >>> from lariat import ElasticNetCV
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(60, 300))
    >>> y = X[:, 0] - 2 * X[:, 1] + 0.1 * rng.normal(size=60)
    >>> model = ElasticNetCV(l1_ratio=[0.5, 0.9], cv=5).fit(X, y)
    >>> model.mse_path_.shape
    (2, 100, 5)
    """

    def __init__(
        self,
        *,
        l1_ratio: Union[float, Sequence[float]] = 0.5,
        eps: float = 1e-3,
        n_alphas: int = 100,
        alphas: Union[None, int, ArrayLike] = None,
        fit_intercept: bool = True,
        tol: float = 1e-4,
        max_iter: int = 1000,
        cv: Any = None,
        standardize: bool = False,
        device: str = "auto",
        adapter: Optional[str] = None,
        strong_rule: bool = True,
        gap_safe: bool = True,
        working_sets: str = "auto",
    ) -> None:
        self.l1_ratio = l1_ratio
        self.eps = eps
        self.n_alphas = n_alphas
        self.alphas = alphas
        self.fit_intercept = fit_intercept
        self.tol = tol
        self.max_iter = max_iter
        self.cv = cv
        self.standardize = standardize
        self.device = device
        self.adapter = adapter
        self.strong_rule = strong_rule
        self.gap_safe = gap_safe
        self.working_sets = working_sets

    def _l1_ratios(self) -> List[float]:
        return [float(r) for r in np.atleast_1d(self.l1_ratio)]

    def fit(self, X: ArrayLike, y: ArrayLike, **params: Any) -> "ElasticNetCV":
        """Cross-validates the path and fits the full data at the chosen alpha.

        Parameters
        ----------
        X : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_features)
            Training data (read in place when it can be, see :class:`ElasticNet`).
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
            Target(s); a 2-D y cross-validates each column, all in one batch.
        **params : dict
            Parameters of the splitter's ``split`` (``groups`` for ``GroupKFold``), routed
            as scikit-learn routes them: only with
            ``sklearn.set_config(enable_metadata_routing=True)``.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        if params.pop("sample_weight", None) is not None:
            raise TypeError(f"{type(self).__name__}.fit does not support sample_weight")
        split_params = _split_params(self, params)
        X, y = _input.check_fit_data(self, X, y)
        multi = y.ndim == 2 and y.shape[1] > 1
        ratios = self._l1_ratios()
        # A list of one l1_ratio is that l1_ratio (scikit-learn squeezes it the same way).
        if multi and len(ratios) > 1:
            raise ValueError(
                "a list of l1_ratio with a 2-D y is not supported; cross-validate one "
                "l1_ratio at a time"
            )
        folds = _input.fold_labels(self.cv, X, y, **split_params)
        values, size = _input.grid(self.alphas, self.n_alphas)
        if values is None and any(r == 0 for r in ratios):
            # scikit-learn's refusal: Ridge has no alpha_max to start a grid from.
            raise ValueError(
                "Automatic alpha grid generation is not supported for l1_ratio=0; give the "
                "alphas (alphas=[...])"
            )
        Xl, Y, p = _input.lariat_X(X), _input.responses(y), X.shape[1]
        # results[i][r]: l1_ratio i, response r.
        results = [
            [
                _CvResult(cv, p)
                for cv in _lariat.cross_validate(
                    Xl,
                    Y,
                    folds,
                    self._options(ratio),
                    lambdas=values,
                    n_lambdas=size,
                    min_ratio=float(self.eps),
                )
            ]
            for ratio in ratios
        ]
        for per_ratio in results:
            for res in per_ratio:
                _warn_unconverged(res.path, type(self).__name__)
                _warn_unconverged_folds(res, type(self).__name__)
        if multi:
            self._set_many(results[0])
            self.l1_ratio_ = ratios[0]
        else:
            self._set_one([per_ratio[0] for per_ratio in results], ratios, values is not None)
        return self

    def __sklearn_tags__(self):  # type: ignore[no-untyped-def]
        tags = super().__sklearn_tags__()
        # Several l1_ratios with a 2-D y are refused (which l1_ratio each response would take
        # has no scikit-learn shape), so such an estimator is single-output.
        tags.target_tags.multi_output = len(self._l1_ratios()) < 2
        return tags

    def get_metadata_routing(self) -> Any:
        """Where ``fit``'s extra parameters go: the splitter's ``split`` (scikit-learn's
        routing, as its own ``ElasticNetCV``)."""
        from sklearn.utils.metadata_routing import MetadataRouter, MethodMapping

        return MetadataRouter(owner=type(self).__name__).add(
            splitter=check_cv(self.cv),
            method_mapping=MethodMapping().add(caller="fit", callee="split"),
        )

    def _set_one(self, results: List[_CvResult], ratios: List[float], explicit: bool) -> None:
        """One response, one or several l1_ratios (scikit-learn's shapes and choice: given
        alphas are one list for every l1_ratio, and ``mse_path_`` loses every axis of
        length 1, as ``np.squeeze`` leaves it there)."""
        best_i = 0
        for i, res in enumerate(results):
            if res.mean_mse[res.best] < results[best_i].mean_mse[results[best_i].best]:
                best_i = i
        best = results[best_i]

        def stack(f: Any) -> Any:
            # scikit-learn squeezes: a list of one l1_ratio gives the shapes of a scalar.
            return np.asarray([f(r) for r in results]) if len(results) > 1 else f(results[0])

        self.l1_ratio_ = ratios[best_i]
        self.alpha_ = float(best.alphas[best.best])
        self.coef_ = best.coef()
        # scikit-learn's types: 0.0 without an intercept, else a numpy float.
        self.intercept_ = (
            np.float64(best.path["intercept"][best.best]) if self.fit_intercept else 0.0
        )
        self.n_iter_ = int(best.path["n_iter"][best.best])
        self.dual_gap_ = float(best.path["gap"][best.best])
        self.alphas_ = results[0].alphas if explicit else stack(lambda r: r.alphas)
        self.mse_path_ = np.squeeze(stack(lambda r: r.mse_path))
        self.cvm_ = stack(lambda r: r.cvm)
        self.cvsd_ = stack(lambda r: r.cvsd)
        self.lambda_min_ = stack(lambda r: r.lambda_min)
        self.lambda_1se_ = stack(lambda r: r.lambda_1se)
        self.device_ = best.path["device"]

    def _set_many(self, results: List[_CvResult]) -> None:
        """Several responses at one l1_ratio: every attribute gains a leading response axis."""
        self.alpha_ = np.asarray([r.alphas[r.best] for r in results])
        self.coef_ = np.vstack([r.coef() for r in results])
        self.intercept_ = (
            np.asarray([r.path["intercept"][r.best] for r in results])
            if self.fit_intercept
            else 0.0
        )
        self.n_iter_ = [int(r.path["n_iter"][r.best]) for r in results]
        self.dual_gap_ = np.asarray([r.path["gap"][r.best] for r in results])
        self.alphas_ = np.vstack([r.alphas for r in results])
        self.mse_path_ = np.stack([r.mse_path for r in results])
        self.cvm_ = np.vstack([r.cvm for r in results])
        self.cvsd_ = np.vstack([r.cvsd for r in results])
        self.lambda_min_ = np.asarray([r.lambda_min for r in results])
        self.lambda_1se_ = np.asarray([r.lambda_1se for r in results])
        self.device_ = results[0].path["device"]


class LassoCV(ElasticNetCV):
    """Lasso with alpha chosen by K-fold cross-validation, by lariat.

    :class:`ElasticNetCV` with ``l1_ratio=1``; scikit-learn's ``LassoCV`` on the same folds
    (``cv=int`` is ``KFold`` without shuffling) gives the same ``alpha_``.

    Parameters
    ----------
    eps, n_alphas, alphas, fit_intercept, tol, max_iter, cv, standardize, device, adapter, \
strong_rule, gap_safe, working_sets
        As in :class:`ElasticNetCV`.

    Attributes
    ----------
    alpha_, coef_, intercept_, alphas_, mse_path_, cvm_, cvsd_, lambda_min_, lambda_1se_, \
n_iter_, dual_gap_, n_features_in_, feature_names_in_, device_
        As in :class:`ElasticNetCV` (with ``mse_path_`` of shape (n_alphas, n_folds)).

    Examples
    --------
    >>> import numpy as np
    >>> from lariat import LassoCV
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(60, 300))
    >>> y = 3 * X[:, 7] + 0.1 * rng.normal(size=60)
    >>> int(np.argmax(np.abs(LassoCV(cv=5).fit(X, y).coef_)))
    7
    """

    def __init__(
        self,
        *,
        eps: float = 1e-3,
        n_alphas: int = 100,
        alphas: Union[None, int, ArrayLike] = None,
        fit_intercept: bool = True,
        tol: float = 1e-4,
        max_iter: int = 1000,
        cv: Any = None,
        standardize: bool = False,
        device: str = "auto",
        adapter: Optional[str] = None,
        strong_rule: bool = True,
        gap_safe: bool = True,
        working_sets: str = "auto",
    ) -> None:
        super().__init__(
            l1_ratio=1.0,
            eps=eps,
            n_alphas=n_alphas,
            alphas=alphas,
            fit_intercept=fit_intercept,
            tol=tol,
            max_iter=max_iter,
            cv=cv,
            standardize=standardize,
            device=device,
            adapter=adapter,
            strong_rule=strong_rule,
            gap_safe=gap_safe,
            working_sets=working_sets,
        )


def _split_params(est: Any, params: Dict[str, Any]) -> Dict[str, Any]:
    """The parameters of ``fit`` meant for the splitter: none without metadata routing (where
    scikit-learn refuses extra parameters too), else what routing sends to ``split``."""
    if not params:
        return {}
    import sklearn

    if not sklearn.get_config().get("enable_metadata_routing", False):
        raise ValueError(
            f"{type(est).__name__}.fit got {sorted(params)}: extra parameters of fit (such as "
            "groups) reach the splitter only with "
            "sklearn.set_config(enable_metadata_routing=True), as in scikit-learn"
        )
    from sklearn.utils.metadata_routing import process_routing

    return dict(process_routing(est, "fit", **params).splitter.split)


ElasticNetCV.path = staticmethod(enet_path)  # type: ignore[attr-defined]
LassoCV.path = staticmethod(lasso_path)  # type: ignore[attr-defined]
