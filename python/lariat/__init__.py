"""lariat: Lasso and Elastic Net for very wide data, as scikit-learn estimators.

The same objective and stopping rule as scikit-learn (``alpha``, ``l1_ratio``, ``tol`` mean
what they mean there), solved by lariat's f64 coordinate descent on the CPU or its wgpu
kernels on a GPU, every answer certified by its duality gap.
"""

from ._cv import ElasticNetCV, LassoCV
from ._estimators import ElasticNet, Lasso, enet_path, lasso_path
from ._lariat import __version__

__all__ = [
    "ElasticNet",
    "ElasticNetCV",
    "Lasso",
    "LassoCV",
    "enet_path",
    "lasso_path",
    "__version__",
]
