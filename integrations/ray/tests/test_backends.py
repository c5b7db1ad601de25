"""Resources of the local pool (methodlab_ray.backends); trials run in test_sweep.py."""

from __future__ import annotations

from methodlab_ray.backends import gpu_assignments


def test_local_workers_get_disjoint_gpu_blocks():
    assert gpu_assignments(2, 0, 0) == ["", ""]
    assert gpu_assignments(4, 1, 2) == ["0", "1"]
    assert gpu_assignments(3, 2, 4) == ["0,1", "2,3"]
    assert gpu_assignments(1, 3, 8) == ["0,1,2"]
