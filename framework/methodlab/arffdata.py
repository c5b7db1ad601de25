"""Multi-label data sets in ARFF (Weka's attribute-relation file format), dense or sparse.

Multi-label collections such as MULAN's *emotions* (593 songs, 72 audio features, 6 emotion
tags) store each label as a ``{0,1}`` attribute next to the numeric features. The file is read
by ``liac-arff`` (dense rows, sparse ``{index value, ...}`` rows, quoted names and nominal
values); this module picks the label attributes, by name or as the last ``N``, and returns
float arrays. Every problem is reported as one line naming the file (and the line or the
attribute).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from pathlib import Path

import attrs
import numpy as np
import torch

from methodlab.builtins.config import ArffMultiLabelParams
from methodlab.components import Batch, EnvInfo
from methodlab.errors import UserError
from methodlab.supervised import SupervisedEnvironment

__all__ = ["MultiLabelData", "build_arff_multilabel", "load_multilabel_arff"]


@attrs.frozen
class MultiLabelData:
    """Features and binary labels of a multi-label data set.

    Shapes:
        features ``(N, D)`` float64; labels ``(N, L)`` float64 of 0 and 1.
    """

    features: np.ndarray
    labels: np.ndarray
    feature_names: tuple[str, ...]
    label_names: tuple[str, ...]


def load_multilabel_arff(path: str | Path, labels: Sequence[str] | int) -> MultiLabelData:
    """Read ``path`` with the label attributes ``labels`` (names, or the last ``labels``).

    :raises UserError: for a malformed file (``FILE:LINE: message``), unknown label names,
        labels that are not 0/1, non-numeric features or missing values.

    Example:
        >>> import tempfile
        >>> text = ("@relation r\\n@attribute x numeric\\n@attribute y {0,1}\\n"
        ...         "@data\\n{0 2.5}\\n1,1\\n")
        >>> with tempfile.NamedTemporaryFile("w", suffix=".arff", delete=False) as f:
        ...     _ = f.write(text)
        >>> data = load_multilabel_arff(f.name, 1)
        >>> data.features.tolist(), data.labels.tolist(), data.label_names
        ([[2.5], [1.0]], [[0.0], [1.0]], ('y',))
    """
    import arff

    path = Path(path)
    try:
        document = arff.loads(path.read_text())
    except OSError as exc:
        raise UserError(f"{path}: cannot read: {exc.strerror}") from exc
    except arff.ArffException as exc:
        message = re.sub(r",? at line \d+\.?$", "", str(exc))
        raise UserError(f"{path}:{exc.line}: {message}") from exc
    names = [name for name, _ in document["attributes"]]
    label_names = _label_names(path, names, labels)
    types = dict(document["attributes"])
    rows = document["data"]
    for row_index, row in enumerate(rows):
        if any(value is None for value in row):
            missing = names[next(i for i, value in enumerate(row) if value is None)]
            raise UserError(f"{path}: data row {row_index + 1}: missing value of {missing!r}")
    columns = {name: [row[index] for row in rows] for index, name in enumerate(names)}
    feature_names = [name for name in names if name not in label_names]
    for name in feature_names:
        if types[name] not in ("NUMERIC", "REAL", "INTEGER"):
            raise UserError(f"{path}: attribute {name!r}: features must be numeric, got "
                            f"{types[name]}")
    for name in label_names:
        bad = sorted({str(value) for value in columns[name]} - {"0", "1", "0.0", "1.0"})
        if bad:
            raise UserError(f"{path}: label {name!r}: values must be 0 or 1, got {bad[:5]}")
    label_matrix = np.array([[float(value) for value in columns[name]] for name in label_names],
                            dtype=np.float64).T.reshape(len(rows), len(label_names))
    features = np.array([columns[name] for name in feature_names],
                        dtype=np.float64).T.reshape(len(rows), len(feature_names))
    return MultiLabelData(features, label_matrix, tuple(feature_names), tuple(label_names))


def _label_names(path: Path, names: list[str], labels: Sequence[str] | int) -> list[str]:
    if isinstance(labels, int):
        if not 0 < labels < len(names):
            raise UserError(f"{path}: labels: expected between 1 and {len(names) - 1} label "
                            f"attributes, got {labels}")
        return names[-labels:]
    chosen = list(labels)
    for name in chosen:
        if name not in names:
            close = difflib.get_close_matches(name, names, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise UserError(f"{path}: labels: no attribute {name!r}{hint}")
    return chosen


def build_arff_multilabel(params: ArffMultiLabelParams, *, seed: int, device: str,
                          dtype: torch.dtype) -> SupervisedEnvironment:
    """A multi-label ARFF file as an environment: a fixed random train/test split (by
    ``split_seed``), features standardised with the training split's mean and deviation."""
    labels: Sequence[str] | int = params.labels if params.labels else params.last_labels
    data = load_multilabel_arff(Path(params.path).expanduser(), labels)
    order = np.random.default_rng(params.split_seed).permutation(len(data.features))
    cut = len(order) - round(len(order) * params.test_fraction)
    train, test = order[:cut], order[cut:]
    features = data.features
    if params.standardize:
        mean, std = features[train].mean(0), features[train].std(0)
        features = (features - mean) / np.where(std > 0, std, 1.0)

    def batch(index: np.ndarray) -> Batch:
        return Batch(torch.as_tensor(features[index], dtype=dtype, device=device),
                     torch.as_tensor(data.labels[index], dtype=dtype, device=device))

    info = EnvInfo(features.shape[1], data.labels.shape[1], "multilabel", len(train))
    return SupervisedEnvironment({"train": batch(train), "test": batch(test)}, info,
                                 batch_size=params.batch_size, seed=seed)
