"""Every input form gives the same answer; X is read in place; bad input is a Python error
with lariat's message, never a crash."""

import os
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

import lariat
from conftest import rel_err, wide_problem

TIGHT = dict(tol=1e-12, max_iter=100_000)


def fit_coef(X, y, est=None):
    est = est or lariat.Lasso(alpha=0.2, **TIGHT)
    m = est.fit(X, y)
    return np.append(m.coef_, m.intercept_)


@pytest.mark.parametrize(
    "make",
    [
        lambda X: np.asfortranarray(X),
        lambda X: np.ascontiguousarray(X),
        lambda X: sp.csc_matrix(X),
        lambda X: sp.csr_matrix(X),
        lambda X: sp.csc_array(X),
        lambda X: pd.DataFrame(X, columns=[f"g{j}" for j in range(X.shape[1])]),
        lambda X: np.repeat(np.repeat(X, 2, axis=0), 2, axis=1)[::2, ::2],  # neither order
    ],
    ids=["F", "C", "csc", "csr", "csc_array", "DataFrame", "strided"],
)
@pytest.mark.parametrize("est", ["lasso", "enet_cv"])
def test_every_form_of_X_gives_the_same_answer(make, est):
    X, y = wide_problem(seed=11)
    # Sparse inputs need zeros to be sparse; the same zeros in every form.
    X[np.abs(X - 1.5 * (np.arange(X.shape[1]) < 100)) < 0.7] = 0.0
    ests = {
        "lasso": lambda: lariat.Lasso(alpha=0.2, **TIGHT),
        "enet_cv": lambda: lariat.ElasticNetCV(l1_ratio=0.7, cv=3, n_alphas=10, **TIGHT),
    }
    ref = fit_coef(np.asfortranarray(X), y, ests[est]())
    got = fit_coef(make(X), y, ests[est]())
    assert rel_err(got, ref) < 1e-9


@pytest.mark.parametrize("order", ["C", "F"])
def test_float32_is_read_as_its_values(order):
    """float32 X is solved in f64 on its f32 values: the same model as those values in f64."""
    X, y = wide_problem(seed=12)
    X32 = np.asarray(X, dtype=np.float32, order=order)
    got = fit_coef(X32, y)
    ref = fit_coef(X32.astype(np.float64), y)
    assert rel_err(got, ref) < 1e-9


def test_dataframe_feature_names():
    X, y = wide_problem(seed=13, p=20)
    cols = [f"gene_{j}" for j in range(20)]
    m = lariat.Lasso(alpha=0.1).fit(pd.DataFrame(X, columns=cols), y)
    assert list(m.feature_names_in_) == cols
    assert m.n_features_in_ == 20
    with pytest.warns(UserWarning, match="feature names"):
        m.predict(X)


PEAK_SCRIPT = textwrap.dedent(
    """
    import resource, sys
    import numpy as np
    import lariat
    n, p = 400, 62_500                      # X is 200 MB of float64
    order, copy = sys.argv[1], sys.argv[2] == "copy"
    rng = np.random.default_rng(0)
    X = np.empty((n, p), order="F" if order == "df" else order)
    for j in range(0, p, 12_500):            # in blocks: no temporary as large as X
        X[:, j:j + 12_500] = rng.standard_normal((n, 12_500))
    y = X[:, 0] * 3 + rng.standard_normal(n)
    lariat.Lasso(alpha=1.0, max_iter=5).fit(X[:5, :50], y[:5])   # load everything first
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if copy:
        X = np.array(X, order="C" if order == "F" else "F")     # the control: one copy
    if order == "df":
        import pandas as pd
        X = pd.DataFrame(X, copy=False)                         # a DataFrame over X's memory
    m = lariat.Lasso(alpha=1.0).fit(X, y)
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print((after - before) * 1024 / (n * p * 8), np.count_nonzero(m.coef_))
    """
)


def peak_growth(order, copy):
    out = subprocess.run(
        [sys.executable, "-c", PEAK_SCRIPT, order, "copy" if copy else "none"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return float(out[0])


@pytest.mark.parametrize("order", ["F", "C", "df"])
def test_no_copy_of_X(order):
    """A fit's peak memory grows by far less than X (a copy would add all of it; what grows
    is lariat's O(p) state). The control run, which makes one copy, shows that the measure
    sees one."""
    assert peak_growth(order, copy=False) < 0.3
    if order == "F":
        assert peak_growth(order, copy=True) > 0.7


@pytest.mark.parametrize(
    "bad, exc, match",
    [
        (lambda X: np.where(np.arange(X.size).reshape(X.shape) == 77, np.nan, X), ValueError,
         r"non-finite value \(NaN\) at row 0, column 77"),
        (lambda X: np.where(np.arange(X.size).reshape(X.shape) == 5, np.inf, X), ValueError,
         "non-finite value"),
        (lambda X: sp.csc_matrix(np.where(X > 2.5, np.nan, X)), ValueError, "sparse X: non-finite"),
        (lambda X: X.astype(complex), ValueError, "[Cc]omplex"),
        (lambda X: X[:, :0], ValueError, "feature"),
        (lambda X: X[:0], ValueError, "sample"),
    ],
    ids=["nan", "inf", "sparse-nan", "complex", "no-columns", "no-rows"],
)
def test_bad_X_raises(bad, exc, match):
    X, y = wide_problem(seed=14)
    Xb = bad(X)
    yb = y[: Xb.shape[0]]
    with pytest.raises(exc, match=match):
        lariat.Lasso(alpha=0.1).fit(Xb, yb)


@pytest.mark.parametrize(
    "est, match",
    [
        (lariat.Lasso(alpha=0.0), r"invalid alpha \(lariat's lambda\) = 0: must be a finite number > 0"),
        (lariat.Lasso(alpha=-1.0), r"invalid alpha \(lariat's lambda\) = -1"),
        (lariat.ElasticNet(l1_ratio=1.5), r"invalid l1_ratio = 1.5: must be in \[0, 1\]"),
        (lariat.Lasso(tol=0.0), r"invalid tol = 0: must be a positive number"),
        (lariat.Lasso(max_iter=0), r"invalid max_iter = 0"),
        (lariat.Lasso(device="tpu"), r"device must be one of"),
        (lariat.LassoCV(eps=2.0), r"invalid eps \(lariat's lambda-min-ratio\) = 2"),
        (lariat.LassoCV(cv=1), r"n_splits=1|at least 2"),
    ],
)
def test_bad_parameters_raise_lariats_message(est, match):
    X, y = wide_problem(seed=15)
    with pytest.raises((ValueError, RuntimeError), match=match):
        est.fit(X, y)


def test_y_problems():
    X, y = wide_problem(seed=16)
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        lariat.Lasso().fit(X, y[:-1])
    with pytest.raises(TypeError, match="y is a sparse matrix, but a dense y is required"):
        lariat.Lasso().fit(X, sp.csr_matrix(y.reshape(-1, 1)))
    with pytest.raises(ValueError, match="NaN"):
        lariat.Lasso().fit(X, np.where(np.arange(len(y)) == 3, np.nan, y))


def test_cv_folds_must_partition_the_rows():
    from sklearn.model_selection import ShuffleSplit

    X, y = wide_problem(seed=17)
    with pytest.raises(ValueError, match="partition"):
        lariat.LassoCV(cv=ShuffleSplit(3, test_size=0.5, random_state=0)).fit(X, y)


def test_malformed_sparse_is_refused_not_a_crash():
    from lariat import _lariat
    from lariat._input import options

    opts = options(l1_ratio=1.0, fit_intercept=True, standardize=False, tol=1e-4,
                   max_iter=100, device="cpu", adapter=None, strong_rule=True,
                   gap_safe=True, working_sets="auto")
    y = np.ones((1, 3)) * [[1.0, 2.0, 4.0]]
    i64 = lambda *v: np.array(v, dtype=np.int64)
    bad = [
        ((3, 2, i64(0, 1), i64(0), np.ones(1)), "indptr has 2 entries"),
        ((3, 2, i64(0, 1, 2), i64(0, 7), np.ones(2)), "row index 7 in column 1"),
        ((3, 1, i64(0, 2), i64(1, 1), np.ones(2)), "not strictly increasing"),
        ((3, 2, i64(0, 2, 1), i64(0, 1), np.ones(2)), "indptr"),
    ]
    for x, match in bad:
        with pytest.raises(ValueError, match=match):
            _lariat.fit_path(x, y, opts, lambdas=[0.1])
    with pytest.raises(TypeError, match="2-D numpy array of float32 or float64"):
        _lariat.fit_path(np.ones((3, 2), dtype=np.int32), y, opts, lambdas=[0.1])


def test_cv_splits_must_train_on_the_rest():
    """A split whose training rows are not exactly the rows it does not test on is refused
    (lariat would train on the rest, not on what was given); boolean masks are splits too."""
    X, y = wide_problem(seed=18)
    n = len(y)
    half = np.arange(n) < n // 2
    overlap = [(np.arange(n // 2), np.arange(n // 2)), (np.arange(n // 2, n), np.arange(n // 2, n))]
    with pytest.raises(ValueError, match="not exactly the rows it does not test on"):
        lariat.LassoCV(cv=overlap, n_alphas=5).fit(X, y)
    masks = [(~half, half), (half, ~half)]
    indices = [(np.flatnonzero(a), np.flatnonzero(b)) for a, b in masks]
    by_mask = lariat.LassoCV(cv=masks, n_alphas=5).fit(X, y)
    by_index = lariat.LassoCV(cv=indices, n_alphas=5).fit(X, y)
    np.testing.assert_array_equal(by_mask.mse_path_, by_index.mse_path_)


def test_parameters_of_the_wrong_type_are_refused():
    X, y = wide_problem(n=30, p=6, seed=19)
    for params, match in [
        (dict(fit_intercept="no"), "fit_intercept must be a bool"),
        (dict(alpha="0.1"), "alpha must be a real number"),
        (dict(alpha=None), "alpha must be a real number"),
        (dict(tol="1e-4"), "tol must be a real number"),
        (dict(max_iter=2**70), r"max_iter must be below 2\*\*63"),
    ]:
        with pytest.raises((TypeError, ValueError), match=match):
            lariat.Lasso(**params).fit(X, y)


def _misaligned(a):
    """A copy of ``a`` (float64, C order) in a buffer one byte off alignment, as
    ``np.frombuffer`` gives when a binary file has an odd-sized header."""
    buf = bytearray(a.nbytes + 1)
    out = np.frombuffer(buf, dtype=np.float64, offset=1, count=a.size).reshape(a.shape)
    out[...] = a
    assert not out.flags.aligned
    return out


def test_misaligned_buffers_fit_as_aligned_ones():
    """Dense X, y and sparse data in misaligned buffers: the same fit as aligned copies (the
    compiled module reads aligned memory only; a misaligned buffer is copied)."""
    X, y = wide_problem(n=30, p=40, seed=18)
    want = lariat.Lasso(alpha=0.05, tol=1e-10).fit(X, y)
    got = lariat.Lasso(alpha=0.05, tol=1e-10).fit(_misaligned(X), _misaligned(y))
    # (C order here, whatever X's was: the sums run in another order.)
    np.testing.assert_allclose(got.coef_, want.coef_, rtol=1e-9, atol=1e-12)
    S = sp.csc_matrix(X)
    S_off = sp.csc_matrix((_misaligned(S.data), S.indices, S.indptr), shape=S.shape)
    sparse = lariat.Lasso(alpha=0.05, tol=1e-10).fit(S_off, y)
    np.testing.assert_allclose(sparse.coef_, want.coef_, rtol=1e-9, atol=1e-12)
    cv = lariat.LassoCV(cv=3, n_alphas=5).fit(X, _misaligned(y))
    assert cv.alpha_ == lariat.LassoCV(cv=3, n_alphas=5).fit(X, y).alpha_


def test_groups_reach_the_splitter_through_metadata_routing():
    """As scikit-learn's: fit's groups go to the splitter's split only with metadata routing
    on (refused, by name, without it), also inside cross_validate; the folds are GroupKFold's."""
    import sklearn
    from sklearn.model_selection import GroupKFold, cross_validate

    X, y = wide_problem(n=48, p=30, seed=19)
    groups = np.repeat(np.arange(6), 8)
    with pytest.raises(ValueError, match="enable_metadata_routing"):
        lariat.LassoCV(cv=GroupKFold(3)).fit(X, y, groups=groups)
    with pytest.raises(TypeError, match="LassoCV.fit does not support sample_weight"):
        lariat.LassoCV().fit(X, y, sample_weight=np.ones(len(y)))
    with pytest.raises(TypeError, match="^Lasso.fit does not support sample_weight"):
        lariat.Lasso().fit(X, y, sample_weight=np.ones(len(y)))
    # A scalar is not a grid (scikit-learn refuses a float; True is not a grid size).
    for bad in (True, 0.1, np.float64(0.1)):
        with pytest.raises(ValueError, match="alphas must be None, an int"):
            lariat.LassoCV(alphas=bad).fit(X, y)
    splits = list(GroupKFold(3).split(X, y, groups))
    want = lariat.LassoCV(cv=splits, n_alphas=8).fit(X, y)
    with sklearn.config_context(enable_metadata_routing=True):
        got = lariat.LassoCV(cv=GroupKFold(3), n_alphas=8).fit(X, y, groups=groups)
        nested = cross_validate(
            lariat.LassoCV(cv=GroupKFold(3), n_alphas=8), X, y, cv=GroupKFold(2),
            params={"groups": groups},
        )
    np.testing.assert_array_equal(got.mse_path_, want.mse_path_)
    assert got.alpha_ == want.alpha_
    assert np.all(np.isfinite(nested["test_score"]))


def test_scikit_learns_fit_signature_and_attributes():
    """fit takes scikit-learn's sample_weight=None and check_input by name (weights are not
    supported, so the signature does not claim them); unknown keywords are a TypeError, even
    None ones; sparse_coef_ and the estimators' path functions; intercept_ is 0.0 without an
    intercept, as in scikit-learn."""
    from sklearn import linear_model as sk

    X, y = wide_problem(n=40, p=25, seed=3)
    a = lariat.Lasso(alpha=0.1, **TIGHT).fit(X, y, sample_weight=None, check_input=False)
    b = lariat.Lasso(alpha=0.1, **TIGHT).fit(X, y)
    np.testing.assert_array_equal(a.coef_, b.coef_)
    with pytest.raises(TypeError, match="unexpected keyword argument 'bogus_keyword'"):
        lariat.Lasso().fit(X, y, bogus_keyword=None)
    sparse = a.sparse_coef_
    assert sp.issparse(sparse) and sparse.shape == (1, X.shape[1])
    np.testing.assert_array_equal(sparse.toarray()[0], a.coef_)
    assert sparse.nnz == np.count_nonzero(a.coef_)
    assert lariat.Lasso.path is lariat.lasso_path and lariat.ElasticNet.path is lariat.enet_path
    assert lariat.LassoCV.path is lariat.lasso_path
    assert lariat.ElasticNetCV.path is lariat.enet_path
    for est in (lariat.LassoCV(cv=3, fit_intercept=False), sk.LassoCV(cv=3, fit_intercept=False)):
        est.fit(X, y)
        assert type(est.intercept_) is float and est.intercept_ == 0.0, est
    Y = np.column_stack([y, -2 * y])
    m = lariat.LassoCV(cv=3, fit_intercept=False).fit(X, Y)
    assert type(m.intercept_) is float and m.intercept_ == 0.0


def test_paths_shapes_follow_scikit_learn_for_a_2d_y_of_one_column():
    from sklearn import linear_model as sk

    X, y = wide_problem(n=40, p=25, seed=4)
    y2 = y[:, None]
    ours = lariat.lasso_path(X, y2, n_alphas=5, tol=1e-10)
    theirs = sk.lasso_path(X, y2, alphas=5)
    assert [np.shape(v) for v in ours] == [np.shape(v) for v in theirs]
    assert ours[1].shape == (1, X.shape[1], 5)
    np.testing.assert_allclose(ours[0], theirs[0], rtol=1e-12)


def test_elastic_net_cv_takes_a_list_of_one_l1_ratio_with_a_2d_y():
    """A list of one l1_ratio is that l1_ratio (with a 2-D y too); several with a 2-D y are
    refused, and then the estimator says it is single-output."""
    X, y = wide_problem(n=45, p=20, seed=5)
    Y = np.column_stack([y, y[::-1]])
    a = lariat.ElasticNetCV(l1_ratio=[0.5], cv=3, n_alphas=8).fit(X, Y)
    b = lariat.ElasticNetCV(l1_ratio=0.5, cv=3, n_alphas=8).fit(X, Y)
    np.testing.assert_array_equal(a.coef_, b.coef_)
    assert a.coef_.shape == (2, X.shape[1])
    two = lariat.ElasticNetCV(l1_ratio=[0.3, 0.9], cv=3)
    with pytest.raises(ValueError, match="a list of l1_ratio with a 2-D y"):
        two.fit(X, Y)
    assert not two.__sklearn_tags__().target_tags.multi_output
    assert lariat.ElasticNetCV(l1_ratio=[0.5]).__sklearn_tags__().target_tags.multi_output
