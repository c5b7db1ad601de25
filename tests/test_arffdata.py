"""Multi-label ARFF loading (methodlab.arffdata), including field traps FT-13 and FT-14."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from methodlab.arffdata import load_multilabel_arff
from methodlab.errors import UserError

EMOTIONS = Path(__file__).resolve().parents[2] / "shared" / "data" / "emotions.arff"


def write(tmp_path: Path, text: str, name: str = "clips.arff") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_ft13_quoted_nominal_values_and_names_with_spaces(tmp_path):
    path = write(tmp_path, """@relation clips
@attribute 'spectral centroid' numeric
@attribute tag_calm {'0','1'}
@attribute tag_loud { 0, 1 }
@data
0.42,'1',0
0.17,'0',1
""")
    data = load_multilabel_arff(path, ["tag_calm", "tag_loud"])
    assert data.features.tolist() == [[0.42], [0.17]]
    assert data.labels.tolist() == [[1.0, 0.0], [0.0, 1.0]]
    assert data.feature_names == ("spectral centroid",)
    assert data.labels.dtype == np.float64


def test_ft14_sparse_rows_fill_omitted_values_with_zero(tmp_path):
    path = write(tmp_path, """@relation clips
@attribute f0 numeric
@attribute f1 numeric
@attribute tag_calm {0,1}
@data
{0 0.5, 2 1}
{1 0.25}
""")
    data = load_multilabel_arff(path, 1)
    assert np.hstack([data.features, data.labels]).tolist() == [[0.5, 0.0, 1.0],
                                                                 [0.0, 0.25, 0.0]]
    assert data.label_names == ("tag_calm",)


def test_labels_by_name_keep_the_given_order_and_leave_the_rest_as_features(tmp_path):
    path = write(tmp_path, "@relation r\n@attribute a {0,1}\n@attribute x numeric\n"
                           "@attribute b {0,1}\n@data\n1,2.0,0\n0,3.0,1\n")
    data = load_multilabel_arff(path, ["b", "a"])
    assert data.labels.tolist() == [[0.0, 1.0], [1.0, 0.0]]
    assert data.features.tolist() == [[2.0], [3.0]] and data.feature_names == ("x",)


@pytest.mark.parametrize(("text", "labels", "message"), [
    ("@relation r\n@attribute x numeric\n@attribute y {0,1}\n@data\nfoo,1\n", 1,
     r"clips\.arff:5: Invalid numerical value$"),
    ("@relation r\n@attribute x numeric\n@attribute tag {0,1}\n@data\n1,1\n", ["tga"],
     r"clips\.arff: labels: no attribute 'tga' \(did you mean 'tag'\?\)$"),
    ("@relation r\n@attribute x numeric\n@attribute y {0,1}\n@data\n1,1\n", 2,
     r"clips\.arff: labels: expected between 1 and 1 label attributes, got 2$"),
    ("@relation r\n@attribute x numeric\n@attribute y {no,yes}\n@data\n1,yes\n", 1,
     r"clips\.arff: label 'y': values must be 0 or 1, got \['yes'\]$"),
    ("@relation r\n@attribute x {a,b}\n@attribute y {0,1}\n@data\na,1\n", 1,
     r"clips\.arff: attribute 'x': features must be numeric, got \['a', 'b'\]$"),
    ("@relation r\n@attribute x numeric\n@attribute y {0,1}\n@data\n?,1\n", 1,
     r"clips\.arff: data row 1: missing value of 'x'$"),
])
def test_mistakes_are_one_line_errors_naming_the_file(tmp_path, text, labels, message):
    with pytest.raises(UserError, match=message):
        load_multilabel_arff(write(tmp_path, text), labels)


@pytest.mark.skipif(not EMOTIONS.exists(), reason="../shared/data/emotions.arff is absent")
def test_the_emotions_data_set():
    data = load_multilabel_arff(EMOTIONS, 6)
    assert data.features.shape == (593, 72) and data.labels.shape == (593, 6)
    assert set(np.unique(data.labels)) == {0.0, 1.0}
    assert data.labels.sum(axis=1).min() >= 1  # every song has at least one emotion


@pytest.mark.skipif(not EMOTIONS.exists(), reason="../shared/data/emotions.arff is absent")
def test_a_logistic_model_learns_the_emotions_tags(tmp_path):
    from methodlab import api

    (tmp_path / "run.toml").write_text(f"""
name = "emotions"
[train]
steps = 200
threads = 1
[environment]
use = "arff-multilabel"
path = "{EMOTIONS}"
last_labels = 6
[model]
use = "mlp"
hidden = []
[loss]
use = "bernoulli-cross-entropy"
[optimizer]
use = "adam"
lr = 0.01
[evaluators.test]
use = "loss"
split = "test"
""")
    outcome = api.run(tmp_path / "run.toml", out=tmp_path / "out", quiet=True)
    final = outcome.summary["per_seed"]["main"]
    # Six Bernoulli tags: ln 2 per tag = 4.16 nats before training.
    assert final["test.loss@start"][0] > 3.5
    assert final["test.loss"][0] < 2.9
