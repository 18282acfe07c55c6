"""lariat against scikit-learn on the same data, the same alphas and the same folds: both
solved to a tiny tolerance, so the difference is lariat's error (or scikit-learn's)."""

import numpy as np
import pytest
import sklearn.linear_model as sk
from sklearn.model_selection import KFold

import lariat
from conftest import alpha_max, rel_err, wide_problem

TIGHT = dict(tol=1e-12, max_iter=100_000)


@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("ratio", [0.5, 0.1])
def test_lasso_matches_sklearn(fit_intercept, ratio):
    X, y = wide_problem()
    alpha = ratio * alpha_max(X, y)
    ours = lariat.Lasso(alpha=alpha, fit_intercept=fit_intercept, **TIGHT).fit(X, y)
    ref = sk.Lasso(alpha=alpha, fit_intercept=fit_intercept, **TIGHT).fit(X, y)
    assert np.count_nonzero(ref.coef_) > 0
    assert rel_err(ours.coef_, ref.coef_) < 1e-6
    assert ours.intercept_ == pytest.approx(ref.intercept_, rel=1e-6, abs=1e-9)
    np.testing.assert_allclose(ours.predict(X), ref.predict(X), rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("l1_ratio", [0.2, 0.5, 0.9])
def test_elastic_net_matches_sklearn(l1_ratio):
    X, y = wide_problem(seed=1)
    alpha = 0.1 * alpha_max(X, y, l1_ratio)
    ours = lariat.ElasticNet(alpha=alpha, l1_ratio=l1_ratio, **TIGHT).fit(X, y)
    ref = sk.ElasticNet(alpha=alpha, l1_ratio=l1_ratio, **TIGHT).fit(X, y)
    assert rel_err(ours.coef_, ref.coef_) < 1e-6
    assert ours.intercept_ == pytest.approx(ref.intercept_, rel=1e-6)
    # The same units: lariat's gap is certified below tol ||yc||^2 / n.
    yc = y - y.mean()
    assert 0 <= ours.dual_gap_ <= 1e-12 * yc @ yc / len(y)


@pytest.mark.parametrize("cv", [5, KFold(4), "iterable"])
def test_lasso_cv_matches_sklearn(cv):
    X, y = wide_problem(seed=2)
    if cv == "iterable":
        cv = list(KFold(3).split(X))
    ours = lariat.LassoCV(cv=cv, n_alphas=40, **TIGHT).fit(X, y)
    ref = sk.LassoCV(cv=cv, alphas=40, **TIGHT).fit(X, y)
    assert ours.alpha_ == pytest.approx(ref.alpha_, rel=1e-12)
    np.testing.assert_allclose(ours.alphas_, ref.alphas_, rtol=1e-12)
    assert ours.mse_path_.shape == ref.mse_path_.shape
    np.testing.assert_allclose(ours.mse_path_, ref.mse_path_, rtol=1e-6)
    assert rel_err(ours.coef_, ref.coef_) < 1e-6
    assert ours.intercept_ == pytest.approx(ref.intercept_, rel=1e-6)


@pytest.mark.parametrize(
    "params",
    [
        {"alphas": [0.05]},
        {"alphas": [0.05], "l1_ratio": [0.5]},
        {"alphas": [0.05], "l1_ratio": [0.5, 0.9]},
        {"alphas": [0.05, 0.2], "l1_ratio": [0.5, 0.9]},
        {"alphas": 1, "l1_ratio": [0.5, 0.9]},
    ],
)
def test_cv_attribute_shapes_match_sklearn(params):
    """Given alphas are one list for every l1_ratio, and mse_path_ is squeezed (one alpha:
    (n_folds,)), as in scikit-learn: code indexing these arrays works on both."""
    X, y = wide_problem(n=40, p=30, seed=33)
    ours = lariat.ElasticNetCV(cv=3, **params, **TIGHT).fit(X, y)
    ref = sk.ElasticNetCV(cv=3, **params, **TIGHT).fit(X, y)
    assert ours.alphas_.shape == ref.alphas_.shape
    assert ours.mse_path_.shape == ref.mse_path_.shape
    np.testing.assert_allclose(ours.alphas_, ref.alphas_, rtol=1e-12)
    np.testing.assert_allclose(ours.mse_path_, ref.mse_path_, rtol=1e-6)


def test_elastic_net_cv_with_l1_ratios_matches_sklearn():
    X, y = wide_problem(seed=3)
    ratios = [0.3, 0.7, 1.0]
    ours = lariat.ElasticNetCV(l1_ratio=ratios, cv=5, n_alphas=20, **TIGHT).fit(X, y)
    ref = sk.ElasticNetCV(l1_ratio=ratios, cv=5, alphas=20, **TIGHT).fit(X, y)
    assert ours.l1_ratio_ == ref.l1_ratio_
    assert ours.alpha_ == pytest.approx(ref.alpha_, rel=1e-12)
    assert ours.mse_path_.shape == ref.mse_path_.shape == (3, 20, 5)
    np.testing.assert_allclose(ours.mse_path_, ref.mse_path_, rtol=1e-6)
    assert rel_err(ours.coef_, ref.coef_) < 1e-6


def test_cv_glmnet_attributes_follow_their_definitions():
    """cvm_ is the fold-size-weighted mean of mse_path_, cvsd_ its standard error,
    lambda_min_ the largest alpha at the smallest cvm_, lambda_1se_ the largest alpha
    within one cvsd_ of it: computed here from mse_path_ and the fold sizes."""
    X, y = wide_problem(seed=4)
    m = lariat.LassoCV(cv=5, n_alphas=30).fit(X, y)
    sizes = np.array([len(t) for _, t in KFold(5).split(X)], float)
    assert len(set(sizes)) > 1  # unequal folds: weighted and unweighted means differ
    cvm = m.mse_path_ @ sizes / sizes.sum()
    var = ((m.mse_path_ - cvm[:, None]) ** 2) @ sizes / sizes.sum()
    np.testing.assert_allclose(m.cvm_, cvm, rtol=1e-12)
    np.testing.assert_allclose(m.cvsd_, np.sqrt(var / (len(sizes) - 1)), rtol=1e-10)
    i = int(np.argmin(cvm))
    assert m.lambda_min_ == m.alphas_[i]
    within = np.flatnonzero(cvm <= cvm[i] + m.cvsd_[i])
    assert m.lambda_1se_ == m.alphas_[within.min()]


def test_paths_match_sklearn():
    X, y = wide_problem(seed=5)
    for ours_f, ref_f, kw in [
        (lariat.lasso_path, sk.lasso_path, {}),
        (lariat.enet_path, sk.enet_path, {"l1_ratio": 0.6}),
    ]:
        a, c, g = ours_f(X, y, n_alphas=15, eps=1e-2, **kw, **TIGHT)
        ra, rc, rg = ref_f(X, y, alphas=15, eps=1e-2, **kw, **TIGHT)
        np.testing.assert_allclose(a, ra, rtol=1e-12)
        assert c.shape == rc.shape == (X.shape[1], 15)
        assert rel_err(c, rc) < 1e-6
        assert np.all(g <= 1e-12 * (y @ y) / len(y))


def test_many_responses_in_one_batch_equal_one_at_a_time():
    X, y = wide_problem(seed=6)
    _, y2 = wide_problem(seed=7)
    Y = np.column_stack([y, y2, -y])
    both = lariat.Lasso(alpha=0.3, **TIGHT).fit(X, Y)
    assert both.coef_.shape == (3, X.shape[1]) and both.intercept_.shape == (3,)
    for k in range(3):
        one = lariat.Lasso(alpha=0.3, **TIGHT).fit(X, Y[:, k])
        assert rel_err(both.coef_[k], one.coef_) < 1e-9
    assert both.predict(X).shape == Y.shape
    cv = lariat.LassoCV(cv=4, n_alphas=20, **TIGHT).fit(X, Y)
    assert cv.mse_path_.shape == (3, 20, 4) and cv.alpha_.shape == (3,)
    ref = sk.LassoCV(cv=4, alphas=20, **TIGHT).fit(X, Y[:, 1])
    assert cv.alpha_[1] == pytest.approx(ref.alpha_, rel=1e-12)
    assert rel_err(cv.coef_[1], ref.coef_) < 1e-6


@pytest.mark.parametrize("standardize", [False, True])
def test_warm_start_starts_from_the_previous_coef(standardize):
    # scikit-learn's warm_start: the second fit starts from coef_. Started at its own answer
    # (coef_ on X's scale, converted under standardize) it needs a sweep or two, where a cold
    # fit needs many; at a new alpha it lands where a cold fit does.
    X, y = wide_problem(seed=3)
    alpha = 0.1 * alpha_max(X, y)
    cold = lariat.Lasso(alpha=alpha, standardize=standardize, **TIGHT).fit(X, y)
    warm = lariat.Lasso(alpha=alpha, standardize=standardize, warm_start=True, **TIGHT)
    warm.fit(X, y)
    assert warm.n_iter_ == cold.n_iter_
    warm.fit(X, y)
    assert warm.n_iter_ <= 2 < cold.n_iter_
    assert rel_err(warm.coef_, cold.coef_) < 1e-6
    warm.set_params(alpha=0.8 * alpha).fit(X, y)
    other = lariat.Lasso(alpha=0.8 * alpha, standardize=standardize, **TIGHT).fit(X, y)
    assert rel_err(warm.coef_, other.coef_) < 1e-6
    # Without warm_start a refit starts from zero again.
    again = lariat.Lasso(alpha=alpha, standardize=standardize, **TIGHT).fit(X, y).fit(X, y)
    assert again.n_iter_ == cold.n_iter_


def test_a_fold_with_a_constant_training_response_is_fitted_as_sklearn_does():
    """y is zero on every row but fold 0's: fold 0's training rows hold a constant, so each of
    its models is their mean (zero coefficients). scikit-learn fits it; so does lariat (the
    command line refuses it by name, as cv.glmnet does)."""
    X, y = wide_problem(n=40, p=15, seed=30)
    y = np.zeros(40)
    y[:8] = np.arange(1.0, 9.0)
    ours = lariat.LassoCV(cv=5, n_alphas=20, **TIGHT).fit(X, y)
    ref = sk.LassoCV(cv=5, alphas=20, **TIGHT).fit(X, y)
    np.testing.assert_allclose(ours.mse_path_, ref.mse_path_, rtol=1e-6)
    assert ours.alpha_ == pytest.approx(ref.alpha_, rel=1e-12)


def test_a_constant_response_gets_sklearns_flat_grid():
    """With y constant alpha_max is 0: scikit-learn's grid is n_alphas copies of its float
    resolution, every model the mean of y. lariat fits it the same way, alone or as one
    column of a 2-D y (the command line refuses it, as cv.glmnet does)."""
    X, y = wide_problem(n=30, p=20, seed=32)
    flat = np.full_like(y, 3.25)
    ours = lariat.LassoCV(cv=3, n_alphas=7).fit(X, flat)
    ref = sk.LassoCV(cv=3, alphas=7).fit(X, flat)
    np.testing.assert_array_equal(ours.alphas_, ref.alphas_)
    assert ours.alpha_ == ref.alpha_
    assert not ours.coef_.any() and ours.intercept_ == ref.intercept_ == 3.25
    a_ours, coef_ours, _ = lariat.lasso_path(X, flat - 3.25, n_alphas=5)
    a_ref, coef_ref, _ = sk.lasso_path(X, flat - 3.25, alphas=5)
    np.testing.assert_array_equal(a_ours, a_ref)
    assert not coef_ours.any() and not coef_ref.any()
    # Not exactly constant: alpha_max of 1e-18, below scikit-learn's resolution, is flat too.
    nearly = 1e-18 * np.sign(X[:, 0])
    a_ours, _, _ = lariat.lasso_path(X, nearly, n_alphas=5)
    a_ref, _, _ = sk.lasso_path(X, nearly, alphas=5)
    np.testing.assert_array_equal(a_ours, a_ref)
    both = lariat.LassoCV(cv=3, n_alphas=7).fit(X, np.c_[y, flat])
    single = lariat.LassoCV(cv=3, n_alphas=7).fit(X, y)
    np.testing.assert_array_equal(both.alphas_[1], ref.alphas_)
    np.testing.assert_allclose(both.alphas_[0], single.alphas_, rtol=1e-12)
    assert not both.coef_[1].any() and both.intercept_[1] == 3.25


def test_grids_below_l1_ratio_1e3_start_where_sklearns_do():
    """scikit-learn's alpha_max is max|X^T y| / (n l1_ratio) however small l1_ratio is (glmnet,
    and lariat's command line, start there at 1e-3): the same alphas_, so the same alpha_."""
    X, y = wide_problem(n=40, p=30, seed=33)
    for ratio in [1e-4, 1e-8]:
        ours = lariat.ElasticNetCV(l1_ratio=ratio, cv=3, n_alphas=6).fit(X, y)
        ref = sk.ElasticNetCV(l1_ratio=ratio, cv=3, alphas=6).fit(X, y)
        np.testing.assert_allclose(ours.alphas_, ref.alphas_, rtol=1e-12)
        a_ours, _, _ = lariat.enet_path(X, y, l1_ratio=ratio, n_alphas=4)
        a_ref, _, _ = sk.enet_path(X, y, l1_ratio=ratio, alphas=4)
        np.testing.assert_allclose(a_ours, a_ref, rtol=1e-12)


def test_shapes_follow_sklearn_in_the_corner_cases():
    """A (n, 1) y gives intercept_ of shape (1,); no intercept gives 0.0 whatever y; a list of
    one l1_ratio is squeezed as a scalar."""
    X, y = wide_problem(n=30, p=6, seed=31)
    for ours, ref in [(lariat.Lasso(alpha=0.1), sk.Lasso(alpha=0.1))]:
        a, b = ours.fit(X, y[:, None]), ref.fit(X, y[:, None])
        assert np.shape(a.intercept_) == np.shape(b.intercept_) == (1,)
        assert a.coef_.shape == b.coef_.shape
        a = ours.set_params(fit_intercept=False).fit(X, np.c_[y, y])
        b = ref.set_params(fit_intercept=False).fit(X, np.c_[y, y])
        assert a.intercept_ == b.intercept_ == 0.0
    # A fitted intercept of a 1-D y is numpy's float64, as scikit-learn's.
    for ours, ref in [(lariat.Lasso(alpha=0.1), sk.Lasso(alpha=0.1)),
                      (lariat.LassoCV(cv=3), sk.LassoCV(cv=3))]:
        assert type(ours.fit(X, y).intercept_) is type(ref.fit(X, y).intercept_) is np.float64
    a = lariat.ElasticNetCV(l1_ratio=[0.5], cv=3).fit(X, y)
    b = sk.ElasticNetCV(l1_ratio=[0.5], cv=3).fit(X, y)
    assert a.alphas_.shape == b.alphas_.shape and a.mse_path_.shape == b.mse_path_.shape
    with pytest.raises(ValueError, match="l1_ratio=0"):
        lariat.ElasticNetCV(l1_ratio=[0.0, 0.5], cv=3).fit(X, y)
    with pytest.raises(ValueError, match="l1_ratio=0"):
        lariat.enet_path(X, y, l1_ratio=0.0)
