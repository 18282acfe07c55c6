"""lariat: Lasso and Elastic Net for very wide data, as scikit-learn estimators.

The same objective and stopping rule as scikit-learn (``alpha``, ``l1_ratio``, ``tol`` mean
what they mean there), solved by lariat's f64 coordinate descent on the CPU or its wgpu
kernels on a GPU, every answer certified by its duality gap.
"""

import os as _os

from . import _lariat
from ._cv import ElasticNetCV, LassoCV
from ._estimators import ElasticNet, Lasso, enet_path, lasso_path
from ._lariat import __version__

# A child of fork() does not have its parent's threads: it makes its own pool and engines.
if hasattr(_os, "register_at_fork"):
    _os.register_at_fork(after_in_child=_lariat.after_fork_in_child)

__all__ = [
    "ElasticNet",
    "ElasticNetCV",
    "Lasso",
    "LassoCV",
    "enet_path",
    "lasso_path",
    "__version__",
]
