import pytest
import torch


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny tensors: one thread is fastest, and spinning workers stall on a shared machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
