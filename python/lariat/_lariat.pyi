"""Type stubs of the compiled module (python/src/lib.rs)."""

from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

__version__: str

LariatX = Union[np.ndarray, Tuple[int, int, np.ndarray, np.ndarray, np.ndarray]]

def fit_path(
    x: LariatX,
    y: np.ndarray,
    options: Dict[str, Any],
    lambdas: Optional[Sequence[float]] = None,
    n_lambdas: int = 100,
    min_ratio: Optional[float] = None,
    coef_init: Optional[np.ndarray] = None,
) -> List[Dict[str, Any]]: ...
def cross_validate(
    x: LariatX,
    y: np.ndarray,
    folds: np.ndarray,
    options: Dict[str, Any],
    lambdas: Optional[Sequence[float]] = None,
    n_lambdas: int = 100,
    min_ratio: Optional[float] = None,
) -> List[Dict[str, Any]]: ...
def open_engines() -> List[Tuple[str, Optional[str]]]: ...
