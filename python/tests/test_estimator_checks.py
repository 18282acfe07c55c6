"""scikit-learn's own estimator checks, for every estimator. A check skipped here is listed
with the reason."""

from sklearn.utils.estimator_checks import parametrize_with_checks

import lariat

# Every check passes for every estimator. scikit-learn itself skips one,
# check_array_api_input (unless SCIPY_ARRAY_API=1): lariat takes numpy arrays and
# scipy.sparse, not other array-API namespaces. A check that lariat cannot pass goes here as
# {"Lasso": {"check_name": "why"}}.
EXPECTED_FAILED = {}


def _expected(est):
    return EXPECTED_FAILED.get(type(est).__name__, {})


@parametrize_with_checks(
    [
        lariat.Lasso(),
        lariat.ElasticNet(),
        lariat.LassoCV(n_alphas=20),
        lariat.ElasticNetCV(n_alphas=20),
    ],
    expected_failed_checks=_expected,
)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)
