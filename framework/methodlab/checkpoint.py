"""Atomic checkpoints that load with ``torch.load(weights_only=True)``.

A checkpoint holds only tensors and plain Python values. Random-number-generator states are
converted to tensors and numbers on save (:func:`capture_rng`) and restored on load
(:func:`restore_rng`), so a resumed trial draws exactly the numbers an uninterrupted one would.
"""

from __future__ import annotations

import os
import pickle
import random
import re
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import torch

from methodlab.errors import UserError

__all__ = ["capture_rng", "load_checkpoint", "restore_rng", "save_checkpoint"]


def capture_rng() -> dict[str, Any]:
    """The torch, CUDA, numpy and Python generator states as tensors and plain values."""
    kind, keys, position, has_gauss, cached = np.random.get_state()
    version, internal, gauss = random.getstate()
    state: dict[str, Any] = {
        "torch": torch.get_rng_state(),
        "numpy": {"kind": str(kind), "keys": torch.from_numpy(keys.astype(np.int64)),
                  "position": int(position), "has_gauss": int(has_gauss),
                  "cached": float(cached)},
        "python": {"version": int(version), "internal": torch.tensor(internal, dtype=torch.int64),
                   "gauss": gauss},
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng(state: dict[str, Any]) -> None:
    """Restore the states captured by :func:`capture_rng`.

    The states may have been loaded onto a GPU (``map_location="cuda"``); generators take
    CPU tensors, so everything is moved back first.
    """
    torch.set_rng_state(state["torch"].cpu())
    numpy_state = state["numpy"]
    np.random.set_state((numpy_state["kind"],
                         numpy_state["keys"].cpu().numpy().astype(np.uint32),
                         numpy_state["position"], numpy_state["has_gauss"],
                         numpy_state["cached"]))
    python_state = state["python"]
    random.setstate((python_state["version"], tuple(python_state["internal"].tolist()),
                     python_state["gauss"]))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([rng.cpu() for rng in state["cuda"]])


def save_checkpoint(payload: dict[str, Any], path: str | Path) -> None:
    """Write ``payload`` to ``path`` atomically: a crash leaves the previous file intact."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as file:
            torch.save(payload, file)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> Any:
    """Load a checkpoint with ``weights_only=True``.

    :raises UserError: for a checkpoint that needs arbitrary unpickling (a foreign or legacy
        file); the message names the rejected global. methodlab never falls back to
        ``weights_only=False``: load such a file yourself if you trust it.
    """
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as exc:
        match = re.search(r"GLOBAL (\S+)", str(exc))
        reason = f"rejected global {match[1]}" if match else "unsupported content"
        raise UserError(
            f"{path}: not a methodlab checkpoint loadable with weights_only=True ({reason}); "
            "if you trust the file, convert it with torch.load(..., weights_only=False) "
            "or allow-list the global with torch.serialization.add_safe_globals"
        ) from exc
    except (RuntimeError, EOFError) as exc:  # truncated or not a torch file at all
        raise UserError(f"{path}: cannot read checkpoint: {str(exc).splitlines()[0]}") from exc
