r"""Digits with a helpful or a harmful auxiliary task, and a shared-trunk multi-head MLP.

The main task classifies the digits ``main_classes`` (by default 0–4) from ``n_main`` = 50
labelled training digits. The auxiliary task draws its digits from a pool: the training digits
of the other classes (``other-classes``, 716 digits 5–9) or every training digit outside the
main labelled set (``unlabelled``, 1,387 digits 0–9). It classifies them by their true class
(``other-digits``: the classes 5–9; ``digits``: 0–9; related features, many labels) or by
their digit labels randomly permuted among the pool's rows (``shuffled``: fitting them means
memorising noise in the shared trunk). Both tasks share the trunk of a :class:`MultiHead`
network and have their own linear heads:

.. math::

    L_m = \mathrm{CE}(h_m(f(x^m)), y^m), \qquad L_a = \mathrm{CE}(h_a(f(x^a)), y^a).

Targets are ``(B, 2)`` long: the main label and the auxiliary label, −1 where a row belongs to
the other task. Test digits are the main classes of the fixed 360-digit test split.

References:
    Du et al. (2018), "Adapting auxiliary losses using gradient similarity",
    arXiv:1812.02224, Section 4.1 (pairs of ImageNet subsets: an auxiliary task can help or
    hurt the main one; gating keeps the help and blocks the harm).
"""

from __future__ import annotations

import torch
from methodlab.builtins.environments import digits_split
from methodlab.builtins.models import feedforward
from methodlab.components import Batch, EnvInfo, Environment, Evaluator, Loss
from methodlab.supervised import SupervisedEnvironment
from torch import nn
from torch.nn import functional as F

from methodlab_aux_loss_similarity.config import (
    AuxDigitsParams,
    MultiHeadParams,
    TaskAccuracyParams,
)

__all__ = ["AuxDigits", "MultiHead", "TaskAccuracy", "aux_digits_data", "build_aux_digits",
           "build_multi_head", "build_task_accuracy"]


class MultiHead(nn.Module):
    """A shared trunk ``f`` with one linear head per task; ``forward`` gives the main head.

    Shapes:
        input ``(B, D)``; ``forward`` ``(B, C_0)``; ``outputs`` a list of ``(B, C_k)``.

    Example:
        >>> model = MultiHead(64, (5, 3), hidden=(16,))
        >>> [o.shape[-1] for o in model.outputs(torch.zeros(2, 64))]
        [5, 3]
    """

    def __init__(self, in_features: int, head_sizes: tuple[int, ...], *,
                 hidden: tuple[int, ...] = (64, 64), activation: str = "relu") -> None:
        super().__init__()
        # The trunk ends in the activation: heads read non-linear features.
        self.trunk = feedforward((in_features, *hidden, 1), activation)[:-1]
        self.heads = nn.ModuleList(nn.Linear(hidden[-1], size) for size in head_sizes)

    def outputs(self, inputs: torch.Tensor) -> list[torch.Tensor]:
        features = self.trunk(inputs)
        return [head(features) for head in self.heads]

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        return self.heads[0](self.trunk(inputs))


def aux_digits_data(params: AuxDigitsParams) -> dict[str, Batch]:
    """Train and test splits (float64 inputs, ``(B, 2)`` long targets) on the CPU.

    Example:
        >>> splits = aux_digits_data(AuxDigitsParams())
        >>> train = splits["train"].targets
        >>> int((train[:, 0] >= 0).sum()), int((train[:, 1] >= 0).sum())
        (50, 716)
    """
    x_train, x_test, y_train, y_test = digits_split()
    x_train_t = torch.as_tensor(x_train, dtype=torch.float64)
    y_train_t = torch.as_tensor(y_train, dtype=torch.long)
    main = torch.tensor(params.main_classes)
    others = torch.tensor([d for d in range(10) if d not in params.main_classes])
    # Label maps: digit -> index within its task.
    main_index = torch.full((10,), -1, dtype=torch.long)
    main_index[main] = torch.arange(len(main))
    aux_index = torch.full((10,), -1, dtype=torch.long)
    aux_index[others] = torch.arange(len(others))
    generator = torch.Generator().manual_seed(params.split_seed)
    is_main = torch.isin(y_train_t, main)
    main_rows = torch.nonzero(is_main).squeeze(1)
    if params.n_main > len(main_rows):
        raise ValueError(f"n_main = {params.n_main} exceeds the {len(main_rows)} training "
                         "digits of the main classes")
    main_rows = main_rows[torch.randperm(len(main_rows), generator=generator)[: params.n_main]]
    rows = [main_rows]
    targets = [torch.stack([main_index[y_train_t[main_rows]],
                            torch.full((len(main_rows),), -1)], 1)]
    if params.auxiliary != "none":
        pool = ~is_main
        if params.aux_pool == "unlabelled":
            pool = torch.ones_like(is_main)
            pool[main_rows] = False
        aux_rows = torch.nonzero(pool).squeeze(1)
        count = params.n_aux or len(aux_rows)
        if count > len(aux_rows):
            raise ValueError(f"n_aux = {count} exceeds the {len(aux_rows)} digits of the "
                             f"auxiliary pool {params.aux_pool!r}")
        aux_rows = aux_rows[torch.randperm(len(aux_rows), generator=generator)[:count]]
        if params.auxiliary == "shuffled":
            # The pool's true digits (0-9), permuted among its rows: no structure is left.
            labels = y_train_t[aux_rows][torch.randperm(count, generator=generator)]
        elif params.auxiliary == "digits":
            labels = y_train_t[aux_rows]
        else:
            labels = aux_index[y_train_t[aux_rows]]
        rows.append(aux_rows)
        targets.append(torch.stack([torch.full((count,), -1), labels], 1))
    index = torch.cat(rows)
    y_test_t = torch.as_tensor(y_test, dtype=torch.long)
    test_rows = torch.isin(y_test_t, main)
    test_targets = torch.stack([main_index[y_test_t[test_rows]],
                                torch.full((int(test_rows.sum()),), -1)], 1)
    return {
        "train": Batch(x_train_t[index], torch.cat(targets)),
        "test": Batch(torch.as_tensor(x_test, dtype=torch.float64)[test_rows], test_targets),
    }


def _masked_cross_entropy(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy over rows with a label (≥ 0); 0 with a graph when there are none."""
    rows = labels >= 0
    if not bool(rows.any()):
        return logits.sum() * 0.0
    return F.cross_entropy(logits[rows], labels[rows])


class AuxDigits(SupervisedEnvironment):
    """A :class:`SupervisedEnvironment` over both tasks' rows with the tasks' objectives."""

    def __init__(self, params: AuxDigitsParams, splits: dict[str, Batch], seed: int) -> None:
        aux_classes = (10 - len(params.main_classes) if params.auxiliary == "other-digits"
                       else 10)
        self.head_sizes = (len(params.main_classes), aux_classes)
        self.has_auxiliary = params.auxiliary != "none"
        info = EnvInfo(64, self.head_sizes[0], "multitask", len(splits["train"].inputs))
        super().__init__(splits, info, batch_size=params.batch_size, seed=seed)

    def objectives(self, model: nn.Module, batch: Batch) -> tuple[torch.Tensor,
                                                                  list[torch.Tensor]]:
        outputs = getattr(model, "outputs", None)
        if outputs is None:
            raise TypeError(f"aux-digits needs a model with one head per task (multi-head-mlp), "
                            f"not {type(model).__name__}")
        main_logits, aux_logits = outputs(batch.inputs)
        main = _masked_cross_entropy(main_logits, batch.targets[:, 0])
        if not self.has_auxiliary:
            return main, []
        return main, [_masked_cross_entropy(aux_logits, batch.targets[:, 1])]


class TaskAccuracy(Evaluator):
    """Main-task accuracy over a split's rows with a main label: metrics ``accuracy`` and
    ``error``."""

    def __init__(self, split: str) -> None:
        self.split = split

    @torch.no_grad()
    def __call__(self, model: nn.Module, env: Environment, loss: Loss) -> dict[str, float]:
        correct, count = 0, 0
        for batch in env.split(self.split):
            labels = batch.targets[:, 0]
            rows = labels >= 0
            predictions = model(batch.inputs[rows]).argmax(-1)
            correct += int((predictions == labels[rows]).sum())
            count += int(rows.sum())
        accuracy = correct / max(count, 1)
        return {"accuracy": accuracy, "error": 1.0 - accuracy}


def build_aux_digits(params: AuxDigitsParams, *, seed: int, device: str,
                     dtype: torch.dtype) -> AuxDigits:
    splits = {name: Batch(b.inputs.to(device, dtype), b.targets.to(device))
              for name, b in aux_digits_data(params).items()}
    return AuxDigits(params, splits, seed)


def build_multi_head(params: MultiHeadParams, *, env: Environment) -> MultiHead:
    sizes = getattr(env, "head_sizes", None)
    if sizes is None:
        raise ValueError(f"multi-head-mlp needs an environment with head_sizes (aux-digits), "
                         f"not {type(env).__name__}")
    return MultiHead(env.info.in_features, sizes, hidden=params.hidden,
                     activation=params.activation)


def build_task_accuracy(params: TaskAccuracyParams, *, env: Environment) -> TaskAccuracy:
    return TaskAccuracy(params.split)
