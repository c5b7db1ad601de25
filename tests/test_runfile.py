"""Run files: strict structuring, one line per problem with its path (FT-04, FT-05, FT-06)."""

from __future__ import annotations

import textwrap

import attrs
import pytest
from methodlab import cli, hookimpl
from methodlab.errors import RunFileError
from methodlab.runfile import (
    TrainSettings,
    apply_overrides,
    load_run_file,
    read_toml,
    structure,
    validate_document,
)
from methodlab.testing import isolated_plugin_system, tiny_document
from methodlab.types import OptimizerSpec


@pytest.fixture
def plugins():
    return isolated_plugin_system()


def problems(document, plugins, source="run.toml") -> list[str]:
    with pytest.raises(RunFileError) as info:
        validate_document(document, source, plugins)
    assert str(info.value) == "\n".join(info.value.problems)
    return info.value.problems


def write(tmp_path, text: str, name: str = "run.toml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


# A plugin-owned schema with nested tables, like a schedule of stages.
@attrs.frozen
class Stage:
    epochs: int
    lr: float = 0.1


@attrs.frozen
class NatGradParams:
    damping: float = attrs.field(default=1e-3, validator=attrs.validators.gt(0.0))
    """Tikhonov damping."""
    stages: tuple[Stage, ...] = ()
    weights: dict[str, float] = attrs.field(factory=dict)


class NatGrad:
    @hookimpl
    def methodlab_optimizers(self):
        yield OptimizerSpec("natgrad", "torch.optim:SGD", NatGradParams, "Test schema.")


@pytest.fixture
def natgrad():
    return isolated_plugin_system(("natgrad-plugin", NatGrad()))


# -- the valid case ------------------------------------------------------------------------


def test_tiny_document_resolves(plugins):
    spec = validate_document(tiny_document(), "run.toml", plugins)
    assert spec.name == "conformance" and spec.seeds == (0,)
    (arm,) = spec.arms
    assert arm.name == "main"
    assert arm.train == TrainSettings(steps=2, dtype="float64")
    assert arm.model.params.hidden == (5,)
    assert arm.optimizer.params.lr == 0.01 and arm.optimizer.params.momentum == 0.0
    assert arm.evaluators["check"].params.split == "train"
    assert arm.environment.table["batch_size"] == 8


def test_name_defaults_to_the_file_stem(tmp_path, plugins):
    document = tiny_document()
    del document["name"]
    path = tmp_path / "my-run.toml"
    import tomli_w

    path.write_text(tomli_w.dumps(document))
    assert load_run_file(path, plugins=plugins).name == "my-run"


def test_int_is_accepted_for_float(plugins):
    document = tiny_document()
    document["optimizer"]["lr"] = 1
    lr = validate_document(document, "run.toml", plugins).arms[0].optimizer.params.lr
    assert lr == 1.0 and isinstance(lr, float)


# -- FT-04: misspelt keys ----------------------------------------------------------------------


def test_ft04_misspelt_optimizer_key(plugins):
    document = tiny_document()
    document["optimizer"] = {"use": "sgd", "lr": 0.05, "momentun": 0.9}
    assert problems(document, plugins) == [
        "run.toml: optimizer.momentun: unknown key (did you mean 'momentum'?)"]


def test_ft04_plugin_owned_table_uses_the_plugins_schema(natgrad):
    document = tiny_document()
    document["optimizer"] = {"use": "natgrad", "dampning": 1e-3}
    assert problems(document, natgrad) == [
        "run.toml: optimizer.dampning: unknown key (did you mean 'damping'?)"]


def test_ft04_unknown_keys_everywhere(plugins):
    document = tiny_document()
    document["trian"] = {}
    document["train"]["stpes"] = 3
    document["model"]["hiden"] = [3]
    document["evaluators"]["check"]["splt"] = "test"
    document["optimizer"]["zzzz"] = 1
    assert problems(document, plugins) == [
        "run.toml: trian: unknown key (did you mean 'train'?)",
        "run.toml: model.hiden: unknown key (did you mean 'hidden'?)",
        "run.toml: optimizer.zzzz: unknown key; known keys: lr, momentum, nesterov, "
        "weight_decay",
        "run.toml: train.stpes: unknown key (did you mean 'steps'?)",
        "run.toml: evaluators.check.splt: unknown key (did you mean 'split'?)",
    ]


def test_ft04_exits_2_before_building_any_model(tmp_path, monkeypatch, capsys):
    import methodlab.runner

    def never(*args, **kwargs):
        raise AssertionError("a trial was built")

    monkeypatch.setattr(methodlab.runner.Trial, "__init__", never)
    monkeypatch.setenv("METHODLAB_DISABLE_PLUGIN_AUTOLOAD", "1")
    path = write(tmp_path, """\
        [environment]
        use = "synthetic-regression"
        [model]
        use = "mlp"
        [loss]
        use = "mse"
        [optimizer]
        use = "sgd"
        lr = 0.05
        momentun = 0.9
        """)
    assert cli.main(["run", str(path), "--out", str(tmp_path / "out"), "--quiet"]) == 2
    assert capsys.readouterr().err == (
        f"error: {path}: optimizer.momentun: unknown key (did you mean 'momentum'?)\n")
    assert not (tmp_path / "out").exists()


# -- FT-05: wrong types, deep inside -----------------------------------------------------------


def test_ft05_nested_wrong_types_are_all_listed_with_paths(natgrad):
    document = tiny_document()
    document["model"]["hidden"] = [16, "three"]
    document["optimizer"] = {
        "use": "natgrad",
        "stages": [{"epochs": 2, "lr": 0.1}, {"epochs": "three", "lr": "1e-3x"}],
        "weights": {"a": 1.0, "b": "heavy"},
    }
    assert problems(document, natgrad) == [
        "run.toml: model.hidden[1]: expected int, got str 'three'",
        "run.toml: optimizer.stages[1].epochs: expected int, got str 'three'",
        "run.toml: optimizer.stages[1].lr: expected float, got str '1e-3x'",
        "run.toml: optimizer.weights.b: expected float, got str 'heavy'",
    ]


@pytest.mark.parametrize(("table", "expected"), [
    ({"hidden": 16}, "model.hidden: expected an array, got int 16"),
    ({"hidden": "16"}, "model.hidden: expected an array, got str '16'"),
    ({"hidden": {"a": 1}}, "model.hidden: expected an array, got dict {'a': 1}"),
    ({"hidden": [[1]]}, "model.hidden[0]: expected int, got list [1]"),
    ({"hidden": [2.5]}, "model.hidden[0]: expected int, got float 2.5"),
    ({"hidden": [True]}, "model.hidden[0]: expected int, got bool True"),
    ({"activation": 1}, "model.activation: expected str, got int 1"),
    ({"activation": "swish"}, "model.activation: must be in ('tanh', 'relu', 'sigmoid', "
                              "'leaky-relu', 'identity') (got 'swish')"),
])
def test_ft05_model_table_shapes_and_types(plugins, table, expected):
    document = tiny_document()
    document["model"] = {"use": "mlp", **table}
    assert problems(document, plugins) == [f"run.toml: {expected}"]


@pytest.mark.parametrize(("value", "expected"), [
    ([0.9], "expected an array of 2 items, got 1"),
    ([0.9, 0.99, 0.1], "expected an array of 2 items, got 3"),
    (0.9, "expected an array, got float 0.9"),
])
def test_ft05_fixed_length_tuples(plugins, value, expected):
    document = tiny_document()
    document["optimizer"] = {"use": "adam", "betas": value}
    assert problems(document, plugins) == [f"run.toml: optimizer.betas: {expected}"]


@pytest.mark.parametrize(("stages", "expected"), [
    (5, ["optimizer.stages: expected an array, got int 5"]),
    ([1, {"epochs": "x"}], ["optimizer.stages[0]: expected a table, got int 1",
                            "optimizer.stages[1].epochs: expected int, got str 'x'"]),
    ([{"lr": 0.1}], ["optimizer.stages[0].epochs: required key missing"]),
    ([{"epochs": 1, "zz": 2}], ["optimizer.stages[0].zz: unknown key; known keys: epochs, lr"]),
])
def test_ft05_nested_tables(natgrad, stages, expected):
    document = tiny_document()
    document["optimizer"] = {"use": "natgrad", "stages": stages}
    assert problems(document, natgrad) == [f"run.toml: {line}" for line in expected]


def test_structure_keeps_attrs_validator_messages():
    _, errors = structure({"damping": -1}, NatGradParams, "optimizer")
    assert errors == ["optimizer.damping: must be > 0.0: -1.0"]
    value, errors = structure({"stages": [{"epochs": 2}]}, NatGradParams, "optimizer")
    assert errors == [] and value.stages == (Stage(2, 0.1),)


@pytest.mark.parametrize(("train", "expected"), [
    ({"steps": 3.0}, "train.steps: expected int, got float 3.0"),
    ({"steps": True}, "train.steps: expected int, got bool True"),
    ({"steps": -1}, "train.steps: must be >= 0: -1"),
    ({"device": "gpu"}, "train.device: must be in ('cpu', 'cuda', 'auto') (got 'gpu')"),
    ({"on_nonfinite": "ignore"},
     "train.on_nonfinite: must be in ('stop', 'abort', 'skip') (got 'ignore')"),
])
def test_train_settings_are_strict(plugins, train, expected):
    document = tiny_document()
    document["train"] = train
    assert problems(document, plugins) == [f"run.toml: {expected}"]


def test_sgd_cross_field_validator(plugins):
    document = tiny_document()
    document["optimizer"] = {"use": "sgd", "nesterov": True}
    assert problems(document, plugins) == [
        "run.toml: optimizer.nesterov: needs 'momentum' > 0"]


# -- FT-06: malformed TOML ---------------------------------------------------------------------


def test_ft06_duplicate_key_is_one_line_with_position(tmp_path):
    path = write(tmp_path, "[train]\nepochs = 3\nepochs = 4\n")
    with pytest.raises(RunFileError) as info:
        read_toml(path)
    (line,) = info.value.problems
    assert line.startswith(f"{path}:3:11: ")
    assert len(line) > len(f"{path}:3:11: ")  # and the cause


def test_ft06_cli_exits_2_without_traceback(tmp_path, capsys):
    path = write(tmp_path, "[train]\nepochs = 3\nepochs = 4\n")
    assert cli.main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"error: {path}:3:11: ")
    assert "Traceback" not in err


def test_unreadable_files_are_one_line(tmp_path):
    with pytest.raises(RunFileError) as info:
        read_toml(tmp_path / "missing.toml")
    assert info.value.problems == [f"{tmp_path / 'missing.toml'}: no such file"]
    binary = tmp_path / "binary.toml"
    binary.write_bytes(b"\xff\xfe[train]")
    with pytest.raises(RunFileError) as info:
        read_toml(binary)
    assert info.value.problems == [f"{binary}: not UTF-8 text (byte 0: invalid start byte)"]
    with pytest.raises(RunFileError, match="cannot read"):
        read_toml(tmp_path)


# -- component names ---------------------------------------------------------------------------


def test_unknown_component_suggests_and_lists(plugins):
    document = tiny_document()
    document["optimizer"] = {"use": "sgdd"}
    document["environment"] = {"use": "digitz"}
    assert problems(document, plugins) == [
        "run.toml: environment.use: unknown environment 'digitz' (did you mean 'digits'?); "
        "available: arff-multilabel, char-text, digits, synthetic-regression",
        "run.toml: optimizer.use: unknown optimizer 'sgdd' (did you mean 'sgd'?); "
        "available: adagrad, adam, rmsprop, sgd",
    ]


@pytest.mark.parametrize(("table", "expected"), [
    ({"lr": 0.1}, "optimizer.use: required key missing (the optimizer to use)"),
    ({"use": 3}, "optimizer.use: expected str, got int 3"),
])
def test_use_key_problems(plugins, table, expected):
    document = tiny_document()
    document["optimizer"] = table
    assert problems(document, plugins) == [f"run.toml: {expected}"]


def test_missing_component_table(plugins):
    document = tiny_document()
    del document["loss"]
    assert problems(document, plugins) == [
        'run.toml: loss: missing [loss] table (a component with use = "...")']


def test_acceptance_misspelt_key_wrong_type_unknown_component(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("METHODLAB_DISABLE_PLUGIN_AUTOLOAD", "1")
    path = write(tmp_path, """\
        [environment]
        use = "synthetic-regression"
        n_trian = 12

        [model]
        use = "mlp"
        hidden = [16, "three"]

        [loss]
        use = "msee"

        [optimizer]
        use = "sgd"
        """)
    assert cli.main(["run", str(path), "--quiet", "--out", str(tmp_path / "out")]) == 2
    lines = capsys.readouterr().err.splitlines()
    assert lines == [
        f"error: {path}: environment.n_trian: unknown key (did you mean 'n_train'?)",
        f"error: {path}: model.hidden[1]: expected int, got str 'three'",
        f"error: {path}: loss.use: unknown loss 'msee' (did you mean 'mse'?); available: "
        "bernoulli-cross-entropy, cross-entropy, mse",
    ]


# -- top level -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["../escape", "a/b", "..", "", ".hidden", 5])
def test_unsafe_run_names_are_rejected(plugins, name):
    document = tiny_document()
    document["name"] = name
    (line,) = problems(document, plugins)
    assert line.startswith("run.toml: name: expected a plain directory name")
    assert repr(name) in line


@pytest.mark.parametrize(("seeds", "expected"), [
    ([], "expected a non-empty list of ints, got []"),
    ([0, "1"], "expected a non-empty list of ints, got [0, '1']"),
    ([True], "expected a non-empty list of ints, got [True]"),
    ([1, 1], "seeds must be distinct, got [1, 1]"),
    ([-1], "seeds must be between 0 and 4294967295, got [-1]"),
    ([2**32], "seeds must be between 0 and 4294967295, got [4294967296]"),
    (3, "expected a non-empty list of ints, got 3"),
])
def test_seeds(plugins, seeds, expected):
    document = tiny_document()
    document["seeds"] = seeds
    assert problems(document, plugins) == [f"run.toml: seeds: {expected}"]


def test_evaluator_every(plugins):
    document = tiny_document()
    document["evaluators"]["check"]["every"] = 5
    ref = validate_document(document, "run.toml", plugins).arms[0].evaluators["check"]
    assert ref.every == 5
    document["evaluators"]["check"]["every"] = -1
    assert problems(document, plugins) == [
        "run.toml: evaluators.check.every: expected a non-negative int, got -1"]
    document["evaluators"]["check"]["every"] = 1
    document["optimizer"]["every"] = 1  # only evaluators have a schedule
    assert problems(document, plugins) == [
        "run.toml: optimizer.every: unknown key; known keys: lr, momentum, nesterov, "
        "weight_decay"]


# -- overrides -------------------------------------------------------------------------------


def test_overrides_parse_toml_values_and_create_tables():
    document = {"optimizer": {"use": "sgd", "lr": 0.1}}
    result = apply_overrides(document, [
        "optimizer.lr=0.5", "seeds=[1, 2]", "optimizer.use=adam", "arms.b.train.steps=7",
        "description=a=b", "train.dtype='float64'",
    ])
    assert result == {"optimizer": {"use": "adam", "lr": 0.5}, "seeds": [1, 2],
                      "arms": {"b": {"train": {"steps": 7}}}, "description": "a=b",
                      "train": {"dtype": "float64"}}
    assert document == {"optimizer": {"use": "sgd", "lr": 0.1}}  # not modified


def test_bad_overrides_are_reported_together():
    with pytest.raises(RunFileError) as info:
        apply_overrides({"seeds": [0]}, ["optimizer", "seeds.x=1", "=3", "a..b=1"])
    assert info.value.problems == [
        "override 'optimizer': expected key.path=value",
        "override 'seeds.x=1': 'seeds' is not a table",
        "override '=3': expected key.path=value",
        "override 'a..b=1': expected key.path=value",
    ]


def test_overrides_go_through_validation(tmp_path, plugins):
    import tomli_w

    path = tmp_path / "run.toml"
    path.write_text(tomli_w.dumps(tiny_document()))
    spec = load_run_file(path, ["optimizer.lr=0.5", "seeds=[3, 4]"], plugins)
    assert spec.arms[0].optimizer.params.lr == 0.5
    assert spec.seeds == (3, 4)
    assert spec.document["optimizer"]["lr"] == 0.5  # what resolved.toml records
    with pytest.raises(RunFileError) as info:
        load_run_file(path, ["optimizer.lr=fast"], plugins)
    assert info.value.problems == [f"{path}: optimizer.lr: expected float, got str 'fast'"]


# -- arms ------------------------------------------------------------------------------------


def arms_document(**arms):
    document = tiny_document()
    document["optimizer"] = {"use": "sgd", "lr": 0.1, "momentum": 0.9}
    document["arms"] = arms
    return document


def test_an_arm_switching_use_replaces_the_base_table(plugins):
    spec = validate_document(arms_document(adam={"optimizer": {"use": "adam"}}), "r", plugins)
    optimizer = spec.arm("adam").optimizer
    assert optimizer.use == "adam"
    assert optimizer.params.lr == 1e-3  # adam's default, not sgd's 0.1
    assert optimizer.table == {"use": "adam"}


def test_an_arm_with_the_same_use_merges_into_the_base(plugins):
    spec = validate_document(
        arms_document(base={}, fast={"optimizer": {"lr": 0.5}, "train": {"steps": 7},
                                     "model": {"hidden": [9]}}),
        "r", plugins)
    assert [arm.name for arm in spec.arms] == ["base", "fast"]
    fast = spec.arm("fast")
    assert (fast.optimizer.params.lr, fast.optimizer.params.momentum) == (0.5, 0.9)
    assert fast.train.steps == 7 and fast.train.dtype == "float64"
    assert fast.model.params.hidden == (9,)
    base = spec.arm("base")
    assert (base.optimizer.params.lr, base.train.steps) == (0.1, 2)


def test_arm_evaluators_merge_and_add(plugins):
    spec = validate_document(
        arms_document(a={}, b={"evaluators": {"check": {"split": "test"},
                                              "extra": {"use": "loss"}}}),
        "r", plugins)
    assert list(spec.arm("a").evaluators) == ["check"]
    b = spec.arm("b").evaluators
    assert sorted(b) == ["check", "extra"]
    assert b["check"].params.split == "test" and b["extra"].params.split == "train"


def test_base_mistakes_are_reported_once_not_per_arm(plugins):
    document = arms_document(a={}, b={"optimizer": {"lr": 0.2}})
    document["optimizer"]["momentun"] = 0.5
    assert problems(document, plugins) == [
        "run.toml: optimizer.momentun: unknown key (did you mean 'momentum'?)"]


def test_arm_problems_name_the_arm(plugins):
    document = arms_document(
        a={"optimizer": {"lr": -1.0}},
        b={"evaluators": 3},
        c={"train": 5},
        d={"optimizer": "adam"},
        e={"optimiser": {}},
        f=7,
    )
    document["arms"]["bad name"] = {}
    assert problems(document, plugins) == [
        "run.toml: arms.a.optimizer.lr: must be > 0.0: -1.0",
        "run.toml: arms.b.evaluators: expected a table of evaluator tables",
        "run.toml: arms.c.train: expected a table, got int",
        "run.toml: arms.d.optimizer: expected a table, got str",
        "run.toml: arms.e.optimiser: unknown key (did you mean 'optimizer'?)",
        "run.toml: arms.f: expected a table",
        "run.toml: arms.bad name: arm names use letters, digits, '-' and '_'",
    ]


# -- claims ----------------------------------------------------------------------------------


def claims_document(*claims):
    document = arms_document(sgd={}, adam={"optimizer": {"use": "adam"}})
    document["claims"] = list(claims)
    return document


def test_valid_claims(plugins):
    spec = validate_document(claims_document(
        {"left": "adam:check.loss", "op": "<", "right": "sgd:check.loss", "scale": 0.5},
        {"left": "sgd:check.loss", "op": "<=", "value": 1, "name": "sgd learns"},
    ), "r", plugins)
    first, second = spec.claims
    assert (first.scale, first.reduce, first.value) == (0.5, "mean", None)
    assert (second.value, second.name) == (1.0, "sgd learns")


@pytest.mark.parametrize(("claim", "expected"), [
    ({"left": "adm:check.loss", "op": "<", "value": 1},
     "claims[0].left: unknown arm 'adm' (did you mean 'adam'?); arms: sgd, adam"),
    ({"left": "check.loss", "op": "<", "value": 1},
     "claims[0].left: unknown arm ''; arms: sgd, adam"),
    ({"left": "sgd:", "op": "<", "value": 1}, "claims[0].left: expected 'arm:metric'"),
    ({"left": "sgd:check.x", "op": "=<", "value": 1},
     "claims[0].op: must be in ('<', '<=', '>', '>=', 'within') (got '=<')"),
    ({"left": "sgd:check.x", "op": "<"},
     "claims[0]: give exactly one of 'right' (an arm:metric) or 'value' (a number)"),
    ({"left": "sgd:check.x", "op": "<", "value": 1, "right": "adam:check.x"},
     "claims[0]: give exactly one of 'right' (an arm:metric) or 'value' (a number)"),
    ({"left": "sgd:check.x", "op": "<", "value": 1, "min_seeds": 2},
     "claims[0].min_seeds: 2 exceeds the number of seeds (1)"),
    ({"left": "sgd:check.x", "op": "<", "value": 1, "reduce": "mode"},
     "claims[0].reduce: must be in ('mean', 'median', 'min', 'max', 'std', 'var') (got 'mode')"),
    ({"left": "sgd:check.x", "op": "<", "value": "1"},
     "claims[0].value: expected float, got str '1'"),
    ({"left": "sgd:check.x", "op": "<", "value": 1, "treshold": 1},
     "claims[0].treshold: unknown key; known keys: left, op, right, left_over, right_over, "
     "value, scale, offset, tolerance, reduce, min_seeds, min_arms, across, name"),
    ({"op": "<", "value": 1}, "claims[0].left: required key missing"),
    (3, "claims[0]: expected a table"),
    ({"left": "sgd:chek.loss", "op": "<", "value": 1},
     "claims[0].left: unknown metric 'chek.loss' (did you mean 'check'?): metrics are "
     "'<evaluator>.<name>' with evaluators check, or step.loss, steps, diverged, "
     "diverged_step, skipped_steps"),
    ({"left": "sgd:check.loss", "op": "<", "right": "adam:step.los@start"},
     "claims[0].right: unknown metric 'step.los@start' (did you mean 'step.loss'?): metrics "
     "are '<evaluator>.<name>' with evaluators check, or step.loss, steps, diverged, "
     "diverged_step, skipped_steps"),
])
def test_claim_problems(plugins, claim, expected):
    assert problems(claims_document(claim), plugins) == [f"run.toml: {expected}"]


def test_single_arm_claims_may_omit_the_arm(plugins):
    document = tiny_document()
    document["claims"] = [{"left": "check.loss", "op": "<", "right": "check.loss@start"}]
    assert validate_document(document, "r", plugins).claims[0].left == "check.loss"


# -- claims over arm families ----------------------------------------------------------------


def family_document(**claim):
    document = tiny_document()
    document["arms"] = {"plain-a": {}, "sobolev-a": {}, "plain-b": {}, "sobolev-b": {},
                        "other": {}}
    document["claims"] = [{"op": "<", **claim}]
    return document


def test_a_family_claim_validates(plugins):
    document = family_document(left="sobolev-*:check.loss", right="plain-*:check.loss",
                               min_arms=2)
    assert validate_document(document, "run.toml", plugins).claims[0].min_arms == 2
    # "Some member beats one fixed arm": the single arm is paired with every member.
    document = family_document(left="sobolev-*:check.loss", right="other:check.loss",
                               min_arms=1)
    assert validate_document(document, "run.toml", plugins).claims[0].right == "other:check.loss"


@pytest.mark.parametrize(("claim", "expected"), [
    ({"left": "sob-*:check.loss", "value": 1.0},
     "claims[0].left: no arm matches 'sob-*'; arms: plain-a, sobolev-a, plain-b, sobolev-b, "
     "other"),
    ({"left": "sobolev-*:check.loss", "right": "p*:check.loss"},
     "claims[0].right: 'p*' matches ['lain-a', 'lain-b'], but 'sobolev-*' matches ['a', 'b']"),
    ({"left": "sobolev-*:check.loss", "right": "plain-*:check.loss", "min_arms": 3},
     "claims[0].min_arms: 3 exceeds the number of arm pairs (2)"),
    ({"left": "sobolev-a:check.loss", "value": 1.0, "min_arms": 1},
     "claims[0].min_arms: applies only to claims over arm families (an arm written with '*')"),
    ({"left": "sobolev-*:check.loss", "value": 1.0, "across": "median", "min_arms": 1},
     "claims[0].across: a statistic across arm pairs compares numbers; it cannot be combined "
     "with min_seeds or min_arms"),
])
def test_family_claim_mistakes_name_the_field(plugins, claim, expected):
    assert problems(family_document(**claim), plugins) == [f"run.toml: {expected}"]


def test_flat_settings_give_every_field_with_defaults_under_dotted_keys():
    from methodlab.testing import isolated_plugin_system, tiny_document

    document = tiny_document()
    document["evaluators"]["test"] = {"use": "accuracy", "split": "test"}
    document["environment"] = {"use": "digits", "batch_size": 16}
    document["model"] = {"use": "mlp", "hidden": [8]}
    document["loss"] = {"use": "cross-entropy"}
    spec = validate_document(document, "tiny.toml", isolated_plugin_system())
    flat = spec.arms[0].flat_settings()
    assert flat["optimizer.use"] == "sgd"
    assert flat["optimizer.lr"] == 0.01
    assert flat["model.hidden"] == "[8]"  # arrays as JSON text
    assert flat["environment.task"] == "classification"  # a default, not in the run file
    assert flat["evaluators.test.split"] == "test"
    assert flat["train.steps"] == document["train"]["steps"]
    assert all(isinstance(value, bool | int | float | str) for value in flat.values())
