"""Event files read back with TensorBoard's own readers and compared with metrics.jsonl."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import methodlab_tensorboard
import pytest
import tomli_w
from methodlab import api, hookimpl
from methodlab.testing import isolated_plugin_system
from methodlab_tensorboard.writer import png_summary
from tensorboard.backend.event_processing import event_accumulator, plugin_event_accumulator
from tensorboard.plugins.hparams.plugin_data_pb2 import HParamsPluginData
from tensorboard.util import tensor_util


def _document(**changes: Any) -> dict[str, Any]:
    document = {
        "name": "tiny",
        "seeds": [0, 1],
        "train": {"steps": 6, "eval_every": 2, "checkpoint_every": 2, "threads": 1},
        "environment": {"use": "digits", "n_labeled": 64, "batch_size": 16},
        "model": {"use": "mlp", "hidden": [8]},
        "loss": {"use": "cross-entropy"},
        "evaluators": {"train": {"use": "loss", "split": "train"},
                       "test": {"use": "accuracy", "split": "test"}},
        "arms": {"sgd": {"optimizer": {"use": "sgd", "lr": 0.1}},
                 "adam": {"optimizer": {"use": "adam", "lr": 0.01}}},
        "claims": [{"name": "adam learns", "left": "adam:test.accuracy", "op": ">=",
                    "value": 0.0}],
        "integrations": {"tensorboard": {}},
    }
    document.update(changes)
    return document


def _run(tmp_path: Path, document: dict[str, Any], *extra: tuple[str, object],
         resume: Path | None = None) -> Path:
    plugins = isolated_plugin_system(("tensorboard", methodlab_tensorboard), *extra)
    if resume is not None:
        return api.run(resume=resume, quiet=True, plugin_system=plugins).directory
    tmp_path.mkdir(parents=True, exist_ok=True)
    path = tmp_path / "tiny.toml"
    path.write_text(tomli_w.dumps(document))
    return api.run(path, out=tmp_path / "out", quiet=True, plugin_system=plugins).directory


def _expected(directory: Path) -> dict[tuple[str, int], dict[str, dict[int, float]]]:
    """``{(arm, seed): {metric: {step: value}}}`` from the run's metrics.jsonl."""
    expected: dict = defaultdict(lambda: defaultdict(dict))
    for line in (directory / "metrics.jsonl").read_text().splitlines():
        record = json.loads(line)
        arm, seed, step = record.pop("arm"), record.pop("seed"), record.pop("step")
        for key, value in record.items():
            expected[(arm, seed)][key][step] = value
    return expected


def _scalars(directory: Path) -> dict[str, list[tuple[int, float]]]:
    """Every scalar series in a TensorBoard run directory, as TensorBoard's loader reads it."""
    reader = plugin_event_accumulator.EventAccumulator(str(directory),
                                                       size_guidance={"tensors": 0})
    reader.Reload()
    return {tag: [(event.step, float(tensor_util.make_ndarray(event.tensor_proto)))
                  for event in reader.Tensors(tag)]
            for tag in reader.PluginTagToContent("scalars")}


def _assert_events_match_metrics(directory: Path) -> None:
    expected = _expected(directory)
    assert set(expected) == {(arm, seed) for arm in ("sgd", "adam") for seed in (0, 1)}
    for (arm, seed), metrics in expected.items():
        series = _scalars(directory / "tensorboard" / arm / f"seed-{seed}")
        assert set(series) == set(metrics), (arm, seed)
        for key, by_step in metrics.items():
            steps = [step for step, _ in series[key]]
            assert len(steps) == len(set(steps)), f"{arm}/seed-{seed} {key}: repeated steps"
            # Exact equality: scalars are float64 tensors, not float32 simple values.
            assert dict(series[key]) == by_step, (arm, seed, key)


@pytest.fixture(scope="module")
def finished(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _run(tmp_path_factory.mktemp("tb"), _document())


def test_every_metric_of_every_trial_is_in_tensorboard_with_the_same_values(finished):
    _assert_events_match_metrics(finished)
    series = _scalars(finished / "tensorboard" / "adam" / "seed-1")
    assert [step for step, _ in series["step.loss"]] == [1, 2, 3, 4, 5, 6]
    assert [step for step, _ in series["test.accuracy"]] == [0, 2, 4, 6]


def test_each_trial_records_its_resolved_settings_for_the_hparams_dashboard(finished):
    reader = plugin_event_accumulator.EventAccumulator(
        str(finished / "tensorboard" / "sgd" / "seed-1"))
    reader.Reload()
    content = reader.PluginTagToContent("hparams")
    start = HParamsPluginData.FromString(content["_hparams_/session_start_info"])
    values = start.session_start_info.hparams
    assert values["arm"].string_value == "sgd"
    assert values["seed"].number_value == 1
    assert values["optimizer.use"].string_value == "sgd"
    assert values["optimizer.lr"].number_value == 0.1
    assert values["model.hidden"].string_value == "[8]"
    assert values["train.steps"].number_value == 6
    experiment = HParamsPluginData.FromString(content["_hparams_/experiment"]).experiment
    assert {info.name.tag for info in experiment.metric_infos} == {
        "step.loss", "train.loss", "test.accuracy", "test.error"}


def test_the_run_figures_are_images_with_the_png_bytes_and_the_run_file_is_text(finished):
    reader = event_accumulator.EventAccumulator(str(finished / "tensorboard"),
                                                size_guidance={"images": 0})
    reader.Reload()
    assert reader.Tags()["images"] == ["curves.png"]
    image = reader.Images("curves.png")[0]
    data = (finished / "curves.png").read_bytes()
    assert image.encoded_image_string == data
    assert image.width > 100 and image.height > 100
    texts = plugin_event_accumulator.EventAccumulator(str(finished / "tensorboard"))
    texts.Reload()
    assert set(texts.PluginTagToContent("text")) == {"resolved.toml/text_summary",
                                                     "claims/text_summary"}


def test_the_integration_is_off_without_its_table_and_on_with_methodlab_integrations(
        tmp_path, monkeypatch):
    document = _document(seeds=[0], integrations={})
    monkeypatch.setenv("METHODLAB_INTEGRATIONS", "mlflow")
    assert not (_run(tmp_path / "off", document) / "tensorboard").exists()
    monkeypatch.setenv("METHODLAB_INTEGRATIONS", " MLflow , tensorboard")
    directory = _run(tmp_path / "on", document)
    assert set(_scalars(directory / "tensorboard" / "sgd" / "seed-0")) == {
        "step.loss", "train.loss", "test.accuracy", "test.error"}


class _Interrupt:
    """Stops the run with Ctrl-C at adam's fifth update of seed 0 (its checkpoint is at 4)."""

    @hookimpl
    def methodlab_step_end(self, trial: Any, step: int) -> None:
        if (trial.arm, trial.seed, step) == ("adam", 0, 5):
            raise KeyboardInterrupt


def test_a_resumed_run_has_each_step_once(tmp_path):
    with pytest.raises(KeyboardInterrupt):
        _run(tmp_path, _document(), ("interrupt", _Interrupt()))
    directory = tmp_path / "out" / "tiny"
    # The interrupted process logged step 5, which the resumed one recomputes from step 4.
    _run(tmp_path, _document(), resume=directory)
    _assert_events_match_metrics(directory)


def test_trials_finished_before_the_integration_was_on_are_written_from_metrics_jsonl(
        tmp_path, monkeypatch):
    document = _document(integrations={})
    with pytest.raises(KeyboardInterrupt):
        _run(tmp_path, document, ("interrupt", _Interrupt()))
    monkeypatch.setenv("METHODLAB_INTEGRATIONS", "tensorboard")
    directory = _run(tmp_path, document, resume=tmp_path / "out" / "tiny")
    _assert_events_match_metrics(directory)


def test_png_summary_reads_the_size_from_the_header_and_rejects_other_files():
    header = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + (640).to_bytes(4, "big") \
        + (480).to_bytes(4, "big") + bytes([8, 6, 0, 0, 0])
    image = png_summary("figure", header).value[0].image
    assert (image.width, image.height, image.colorspace) == (640, 480, 4)
    with pytest.raises(ValueError, match="figure: not a PNG file"):
        png_summary("figure", b"GIF89a" + bytes(30))
