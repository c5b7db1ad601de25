"""Partitions of a model's parameters into the groups of the block mean approximation.

A partition is a list of integer label tensors, one per parameter and shaped like it, whose
entries are group indices ``0 .. L - 1`` (every index used). The optimizer takes such a list
or the name of a rule that needs only the parameters (``element``, ``row``, ``tensor``);
:func:`partition_model` also knows the rules that need the module structure (``unit``,
``layer``) or parameter names (``explicit``).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence

import torch
from torch import Tensor, nn

__all__ = [
    "MODEL_RULES",
    "PARAMETER_RULES",
    "flat_labels",
    "partition_model",
    "partition_parameters",
]

PARAMETER_RULES = ("element", "row", "tensor")
"""Rules computed from the parameter tensors alone."""

MODEL_RULES = ("unit", "layer", "explicit", *PARAMETER_RULES)
"""Rules :func:`partition_model` accepts."""


def _rows(param: Tensor, offset: int) -> Tensor:
    # Group r = slice r along the first dimension (a scalar is one group).
    if param.dim() == 0:
        return torch.full((), offset, dtype=torch.long)
    rows = torch.arange(param.shape[0], dtype=torch.long) + offset
    return rows.reshape(-1, *([1] * (param.dim() - 1))).expand(param.shape).clone()


def partition_parameters(params: Sequence[Tensor], rule: str) -> list[Tensor]:
    """Group labels for ``params`` by a rule that needs only the tensors.

    Arguments:
        params: the parameters, in optimizer order.
        rule: ``element`` (every scalar its own group: the block mean approximation is then
            exact, i.e. full-matrix AdaGrad), ``row`` (every slice along the first dimension,
            e.g. one output unit's incoming weights; a bias is one group per entry) or
            ``tensor`` (every parameter tensor one group).

    Example:
        >>> [t.tolist() for t in partition_parameters([torch.zeros(2, 3), torch.zeros(2)], "row")]
        [[[0, 0, 0], [1, 1, 1]], [2, 3]]
    """
    if rule not in PARAMETER_RULES:
        raise ValueError(f"unknown partition rule {rule!r} for bare parameters; choose from "
                         f"{', '.join(PARAMETER_RULES)} or pass label tensors")
    labels: list[Tensor] = []
    offset = 0
    for param in params:
        if rule == "element":
            label = torch.arange(param.numel(), dtype=torch.long).reshape(param.shape) + offset
        elif rule == "row":
            label = _rows(param, offset)
        else:
            label = torch.full(param.shape, offset, dtype=torch.long)
        labels.append(label)
        offset = int(label.max()) + 1 if label.numel() else offset
    return labels


def partition_model(
    model: nn.Module, rule: str, explicit: Sequence[Sequence[str]] = ()
) -> list[Tensor]:
    """Group labels for the trainable parameters of ``model`` (in ``model.parameters()`` order).

    Arguments:
        model: the model.
        rule: one of :data:`MODEL_RULES`. Besides the :func:`partition_parameters` rules:
            ``unit`` puts output unit ``r`` of a module (row ``r`` of its weight and entry
            ``r`` of its bias: the unit's fan-in) in one group, for modules whose direct
            parameters share their first dimension (others fall back to ``row``);
            ``layer`` puts all direct parameters of a module in one group;
            ``explicit`` takes the groups from ``explicit``.
        explicit: for ``explicit``, one list of parameter-name patterns (``fnmatch``, e.g.
            ``"0.*"``) per group; every trainable parameter must match exactly one group.

    Example:
        >>> net = nn.Sequential(nn.Linear(3, 2), nn.Tanh(), nn.Linear(2, 1))
        >>> [t.tolist() for t in partition_model(net, "unit")]
        [[[0, 0, 0], [1, 1, 1]], [0, 1], [[2, 2]], [2]]
        >>> [t.tolist() for t in partition_model(net, "explicit", [["0.*"], ["2.*"]])]
        [[[0, 0, 0], [0, 0, 0]], [0, 0], [[1, 1]], [1]]
    """
    if rule not in MODEL_RULES:
        raise ValueError(f"unknown partition rule {rule!r}; choose from {', '.join(MODEL_RULES)}")
    named = [(name, p) for name, p in model.named_parameters() if p.requires_grad]
    if rule in PARAMETER_RULES:
        return partition_parameters([p for _, p in named], rule)
    if rule == "explicit":
        return _explicit(named, explicit)
    owner: dict[int, str] = {}
    direct: dict[str, list[Tensor]] = {}
    for module_name, module in model.named_modules():
        params = [p for p in module.parameters(recurse=False) if p.requires_grad]
        direct[module_name] = params
        for p in params:
            owner.setdefault(id(p), module_name)
    keys: dict[tuple, int] = {}  # group key -> index, in order of first appearance
    labels = []
    for name, p in named:
        module_name = owner[id(p)]
        if rule == "layer":
            labels.append(torch.full(p.shape, keys.setdefault((module_name,), len(keys))))
            continue
        first_dims = {q.shape[0] if q.dim() else None for q in direct[module_name]}
        shared = len(first_dims) == 1 and None not in first_dims
        prefix = (module_name,) if shared else (module_name, name)
        rows = p.shape[0] if p.dim() else 1
        ids = torch.tensor([keys.setdefault((*prefix, r), len(keys)) for r in range(rows)],
                           dtype=torch.long)
        labels.append(ids[_rows(p, 0)])
    return labels


def _explicit(named: Sequence[tuple[str, Tensor]], groups: Sequence[Sequence[str]]) -> list[Tensor]:
    if not groups:
        raise ValueError("the 'explicit' partition needs explicit_groups: one list of "
                         "parameter-name patterns per group")
    labels = []
    for name, p in named:
        hits = [index for index, patterns in enumerate(groups)
                if any(fnmatch.fnmatchcase(name, pattern) for pattern in patterns)]
        if len(hits) != 1:
            where = "no group" if not hits else f"groups {hits}"
            known = ", ".join(n for n, _ in named)
            raise ValueError(f"parameter {name!r} matches {where} of explicit_groups; each "
                             f"parameter must match exactly one (parameters: {known})")
        labels.append(torch.full(p.shape, hits[0], dtype=torch.long))
    used = {int(t.reshape(-1)[0]) for t in labels if t.numel()}
    unused = [index for index in range(len(groups)) if index not in used]
    if unused:
        raise ValueError(f"explicit_groups {unused} match no trainable parameter "
                         f"(parameters: {', '.join(n for n, _ in named)})")
    return labels


def flat_labels(labels: Sequence[Tensor], params: Sequence[Tensor]) -> tuple[Tensor, int]:
    """Check ``labels`` against ``params`` and concatenate them into one vector.

    :returns: ``(labels, L)``: the flat labels :math:`(d,)` and the number of groups.
    :raises ValueError: if the shapes differ or a group index in ``0 .. L - 1`` is unused.
    """
    if len(labels) != len(params):
        raise ValueError(f"got {len(labels)} label tensors for {len(params)} parameters")
    for index, (label, p) in enumerate(zip(labels, params, strict=True)):
        if tuple(label.shape) != tuple(p.shape):
            raise ValueError(f"labels of parameter {index} have shape {tuple(label.shape)}, "
                             f"the parameter {tuple(p.shape)}")
    flat = torch.cat([torch.as_tensor(t, dtype=torch.long).reshape(-1) for t in labels])
    if flat.numel() == 0:
        raise ValueError("no parameters to partition")
    n_groups = int(flat.max()) + 1
    if int(flat.min()) < 0 or bool((torch.bincount(flat, minlength=n_groups) == 0).any()):
        raise ValueError(f"group labels must use every index 0 .. L - 1 (L = {n_groups})")
    return flat, n_groups
