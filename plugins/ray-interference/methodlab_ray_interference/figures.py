r"""The figure a ``bandit-dynamics`` evaluator asks for: learning curves and the flow field.

Top row, one panel per arm: :math:`J_k` of every context against updates (every seed), the
mean :math:`\bar J` in black, plateaus shaded. A plateau is a stretch of evaluations where
:math:`\bar J` is below the evaluator's threshold and rises by less than 2 % of its largest
rate of rise in the trial (rates from finite differences, smoothed over 5 % of the run).
Bottom row (K = 2 arms of the minimal model only): the exact flow field
:math:`(\dot J_1, \dot J_2)` of that arm's signal and Gram matrix over the unit square
(:func:`~methodlab_ray_interference.dynamics.flow`), with the arm's trajectories on top.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from methodlab_ray_interference.config import (
    BanditDynamicsParams,
    ExpectedRewardParams,
    GoodArmLikelihoodParams,
    InterferenceLogitsParams,
)

if TYPE_CHECKING:
    from methodlab.runfile import ArmSpec, RunSpec

__all__ = ["draw_figures", "plateaus"]

_SIGNAL = {ExpectedRewardParams: "on-policy", GoodArmLikelihoodParams: "supervised"}


def plateaus(updates: np.ndarray, objective: np.ndarray, threshold: float,
             relative: float = 0.02) -> list[tuple[float, float]]:
    """``(start, end)`` update intervals where ``objective`` is below ``threshold`` and flat.

    Flat: the smoothed rate of rise is below ``relative`` × its maximum over the curve.

    Example (a rise, a long flat stretch, a second rise):
        >>> u = np.arange(0, 100.0)
        >>> j = np.clip(np.r_[np.linspace(0.1, 0.5, 20), np.full(60, 0.5),
        ...                  np.linspace(0.5, 1.0, 20)], 0, 1)
        >>> [(int(a), int(b)) for a, b in plateaus(u, j, 0.9)]
        [(22, 77)]
    """
    if len(updates) < 3:
        return []
    rate = np.gradient(objective, updates)
    window = max(1, len(updates) // 20)
    rate = np.convolve(rate, np.ones(window) / window, mode="same")
    flat = (rate < relative * max(rate.max(), 1e-12)) & (objective < threshold)
    intervals, start = [], None
    for index, is_flat in enumerate(flat):
        if is_flat and start is None:
            start = index
        elif not is_flat and start is not None:
            intervals.append((updates[start], updates[index - 1]))
            start = None
    if start is not None:
        intervals.append((updates[start], updates[-1]))
    return [(float(a), float(b)) for a, b in intervals if b > a]


def _records(directory: Path, arm: str, seed: int, key: str) -> dict[str, np.ndarray]:
    path = directory / "trials" / arm / f"seed-{seed}" / "metrics.jsonl"
    rows = [r for r in map(json.loads, path.read_text().splitlines())
            if f"{key}.objective" in r] if path.exists() else []
    columns: dict[str, list[float]] = {}
    for row in rows:
        columns.setdefault("update", []).append(row["step"])
        for name, value in row.items():
            if name.startswith(f"{key}."):
                columns.setdefault(name.removeprefix(f"{key}."), []).append(value)
    return {name: np.asarray(values, dtype=float) for name, values in columns.items()}


def _flow_field(axis: object, arm: ArmSpec) -> bool:
    """Stream plot of the exact flow of ``arm`` over (J₁, J₂); False when not applicable."""
    import torch

    from methodlab_ray_interference.dynamics import flow, interference_gram

    model, signal = arm.model.params, _SIGNAL.get(type(arm.loss.params))
    if not isinstance(model, InterferenceLogitsParams) or len(model.start) != 2 or not signal:
        return False
    grid = np.linspace(0.005, 0.995, 40)
    j1, j2 = np.meshgrid(grid, grid)
    success = torch.from_numpy(np.stack([j1, j2], axis=-1))  # (40, 40, 2)
    velocity = flow(success, interference_gram(2, model.interference), signal).numpy()
    speed = np.hypot(velocity[..., 0], velocity[..., 1])
    axis.streamplot(j1, j2, velocity[..., 0], velocity[..., 1], color=np.log10(speed + 1e-9),
                    cmap="viridis", density=1.1, linewidth=0.7, arrowsize=0.7)
    axis.set_xlim(0, 1)
    axis.set_ylim(0, 1)
    axis.set_xlabel("J₁")
    axis.set_ylabel("J₂")
    axis.set_title(f"{signal} flow, ρ = {model.interference:g}", fontsize=9)
    return True


def _draw(spec: RunSpec, directory: Path, key: str, params: BanditDynamicsParams) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    arms = [arm for arm in spec.arms if key in arm.evaluators]
    flows = sum(1 for arm in arms if isinstance(arm.model.params, InterferenceLogitsParams)
                and len(arm.model.params.start) == 2)
    rows = 2 if flows else 1
    figure, axes = plt.subplots(rows, len(arms), figsize=(4.2 * len(arms), 3.6 * rows),
                                squeeze=False)
    for column, arm in enumerate(arms):
        curve_axis = axes[0, column]
        for seed in spec.seeds:
            data = _records(directory, arm.name, seed, key)
            if "objective" not in data:
                continue
            contexts = sorted(n for n in data if n[0] == "j" and n[1:].isdigit())
            for index, name in enumerate(contexts):
                curve_axis.plot(data["update"], data[name], color=f"C{index}", linewidth=0.8,
                                label=name if seed == spec.seeds[0] else None)
            curve_axis.plot(data["update"], data["objective"], color="black", linewidth=1.4,
                            label="mean" if seed == spec.seeds[0] else None)
            for start, end in plateaus(data["update"], data["objective"], params.threshold):
                curve_axis.axvspan(start, end, color="grey", alpha=0.15, linewidth=0)
            if rows == 2 and _flow_field(axes[1, column], arm):
                axes[1, column].plot(data["j1"], data["j2"], color="red", linewidth=1.2)
        curve_axis.axhline(params.threshold, color="grey", linestyle=":", linewidth=0.8)
        curve_axis.set_title(f"{arm.name} (grey: plateaus)", fontsize=9)
        curve_axis.set_xlabel("update")
        curve_axis.set_ylabel("J = π(good arm | context)")
        curve_axis.set_ylim(-0.02, 1.02)
        curve_axis.legend(fontsize=7, loc="lower right")
        if rows == 2 and not axes[1, column].has_data():
            axes[1, column].set_axis_off()
    figure.suptitle(f"{spec.name}: ray interference", fontsize=10)
    figure.tight_layout()
    path = directory / params.figure
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


def draw_figures(spec: RunSpec, directory: Path) -> list[Path]:
    """Draw every figure requested by a ``bandit-dynamics`` evaluator of ``spec``.

    :returns: the PNG paths written into ``directory`` (none when no evaluator asks).
    """
    requested: dict[str, BanditDynamicsParams] = {}
    for arm in spec.arms:
        for key, ref in arm.evaluators.items():
            if isinstance(ref.params, BanditDynamicsParams) and ref.params.figure:
                requested.setdefault(key, ref.params)
    return [_draw(spec, Path(directory), key, params) for key, params in requested.items()]
