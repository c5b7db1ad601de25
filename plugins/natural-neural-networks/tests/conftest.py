import pytest
import torch
from methodlab.builtins.environments import digits_split


@pytest.fixture(scope="session")
def digits() -> torch.Tensor:
    """The 1,437 training digits in float64; some pixels are always zero (rank-deficient)."""
    x_train, _, _, _ = digits_split()
    return torch.as_tensor(x_train, dtype=torch.float64)
