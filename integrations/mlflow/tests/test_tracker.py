"""Runs logged to a real local MLflow store and to a real `mlflow server`, read back with
MlflowClient and compared with metrics.jsonl."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import methodlab_mlflow
import pytest
import tomli_w
from methodlab import api, hookimpl
from methodlab.errors import UserError
from methodlab.runfile import validate_document
from methodlab.testing import isolated_plugin_system
from methodlab_mlflow.tracker import default_tracking_uri, resolved_settings
from mlflow import MlflowClient


def _document(name: str, **changes: Any) -> dict[str, Any]:
    document = {
        "name": name,
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
        "integrations": {"mlflow": {}},
    }
    document.update(changes)
    return document


def _run(out: Path, document: dict[str, Any], *extra: tuple[str, object],
         resume: bool = False) -> Path:
    plugins = isolated_plugin_system(("mlflow", methodlab_mlflow), *extra)
    if resume:
        return api.run(resume=out / document["name"], quiet=True,
                       plugin_system=plugins).directory
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{document['name']}.toml"
    path.write_text(tomli_w.dumps(document))
    return api.run(path, out=out, quiet=True, plugin_system=plugins).directory


def _expected(directory: Path) -> dict[str, dict[str, dict[int, float]]]:
    """``{"<arm>/seed-<s>": {metric: {step: value}}}`` from the run's metrics.jsonl."""
    expected: dict = defaultdict(lambda: defaultdict(dict))
    for line in (directory / "metrics.jsonl").read_text().splitlines():
        record = json.loads(line)
        key = f"{record.pop('arm')}/seed-{record.pop('seed')}"
        step = record.pop("step")
        for metric, value in record.items():
            expected[key][metric][step] = value
    return expected


def _children(client: MlflowClient, directory: Path) -> dict[str, Any]:
    state = json.loads((directory / "mlflow.json").read_text())
    runs = client.search_runs(
        [state["experiment_id"]],
        filter_string=f"tags.mlflow.parentRunId = '{state['parent_run_id']}'")
    return {run.info.run_name: run for run in runs}


def _assert_mlflow_matches_metrics(client: MlflowClient, directory: Path) -> None:
    expected = _expected(directory)
    children = _children(client, directory)
    assert set(children) == set(expected) == {
        f"{arm}/seed-{seed}" for arm in ("sgd", "adam") for seed in (0, 1)}
    for name, metrics in expected.items():
        run = children[name]
        assert set(run.data.metrics) == set(metrics), name
        for key, by_step in metrics.items():
            history = client.get_metric_history(run.info.run_id, key)
            steps = [m.step for m in history]
            assert len(steps) == len(set(steps)), f"{name} {key}: a step logged twice"
            assert {m.step: m.value for m in history} == by_step, (name, key)


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One output directory, so the tests share one local store (its creation takes s)."""
    return tmp_path_factory.mktemp("mlflow-out")


@pytest.fixture(scope="module")
def finished(out: Path) -> Path:
    return _run(out, _document("tiny"))


@pytest.fixture
def local(out: Path) -> MlflowClient:
    return MlflowClient(default_tracking_uri(out))


def test_every_metric_is_in_mlflow_with_the_same_values_and_steps(finished, local):
    _assert_mlflow_matches_metrics(local, finished)
    history = local.get_metric_history(_children(local, finished)["adam/seed-1"].info.run_id,
                                       "test.accuracy")
    assert sorted(m.step for m in history) == [0, 2, 4, 6]


def test_the_default_store_is_a_sqlite_file_next_to_the_run_directories(finished, out):
    state = json.loads((finished / "mlflow.json").read_text())
    assert state["tracking_uri"] == f"sqlite:///{out.resolve()}/mlflow.db"
    assert (out / "mlflow.db").is_file()


def test_each_trial_is_a_child_run_with_its_resolved_settings(finished, local):
    children = _children(local, finished)
    params = children["sgd/seed-1"].data.params
    assert params["arm"] == "sgd"
    assert params["seed"] == "1"
    assert params["optimizer.use"] == "sgd"
    assert params["optimizer.lr"] == "0.1"
    assert params["model.hidden"] == "[8]"
    assert params["environment.task"] == "classification"  # a default, not in the run file
    assert params["train.steps"] == "6"
    assert {run.info.status for run in children.values()} == {"FINISHED"}
    assert children["adam/seed-0"].data.tags["methodlab.status"] == "finished"


def test_the_parent_run_holds_the_summary_figures_resolved_run_file_and_verdicts(
        finished, local):
    parent_id = json.loads((finished / "mlflow.json").read_text())["parent_run_id"]
    parent = local.get_run(parent_id)
    assert parent.info.run_name == "tiny"
    assert parent.info.status == "FINISHED"
    assert parent.data.tags["claim.0"] == "PASS: adam learns"
    assert parent.data.tags["methodlab.claims"] == "1 of 1 hold"
    assert json.loads(parent.data.params["seeds"]) == [0, 1]
    artifacts = {item.path for item in local.list_artifacts(parent_id)}
    assert artifacts == {"summary.json", "resolved.toml", "curves.png"}
    downloaded = local.download_artifacts(parent_id, "summary.json", str(finished / ".."))
    assert json.loads(Path(downloaded).read_text()) == json.loads(
        (finished / "summary.json").read_text())


class _Interrupt:
    """Stops the run with Ctrl-C at adam's fifth update of seed 0 (its checkpoint is at 4)."""

    @hookimpl
    def methodlab_step_end(self, trial: Any, step: int) -> None:
        if (trial.arm, trial.seed, step) == ("adam", 0, 5):
            raise KeyboardInterrupt


def test_a_resumed_run_continues_the_same_mlflow_runs_without_repeating_a_step(out, local):
    document = _document("interrupted")
    with pytest.raises(KeyboardInterrupt):
        _run(out, document, ("interrupt", _Interrupt()))
    directory = _run(out, document, resume=True)
    _assert_mlflow_matches_metrics(local, directory)
    experiment = local.get_experiment_by_name("interrupted")
    parents = local.search_runs([experiment.experiment_id],
                                filter_string="tags.mlflow.runName = 'interrupted'")
    assert len(parents) == 1


def test_an_unreachable_server_is_one_error_line_before_any_trial_trains(tmp_path):
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    uri = f"http://127.0.0.1:{port}"
    document = _document("unreachable", integrations={"mlflow": {"tracking_uri": uri}})
    started = time.perf_counter()
    with pytest.raises(UserError) as error:
        _run(tmp_path, document)
    assert time.perf_counter() - started < 30
    message = str(error.value)
    assert "\n" not in message
    assert message.startswith(f"mlflow: cannot log to {uri}: ConnectionError: no MLflow "
                              "server answers")
    assert not (tmp_path / "unreachable" / "trials").exists()


def test_a_failing_store_mid_run_costs_one_line_and_a_resume_logs_the_rest(
        out, local, monkeypatch, capsys):
    original = MlflowClient.log_batch

    def refuse_metrics(self: MlflowClient, run_id: str, metrics: Any = (), **kwargs: Any):
        if metrics:
            raise ConnectionError("connection refused")
        return original(self, run_id, metrics=metrics, **kwargs)

    monkeypatch.setattr(MlflowClient, "log_batch", refuse_metrics)
    document = _document("flaky")
    directory = _run(out, document)
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1
    assert errors[0].startswith("error: mlflow: logging metrics at sqlite:///")
    assert "ConnectionError: connection refused" in errors[0]
    assert (directory / "summary.json").exists() and (directory / "curves.png").exists()
    assert len(_expected(directory)) == 4  # the run's own files are complete

    monkeypatch.setattr(MlflowClient, "log_batch", original)
    _run(out, document, resume=True)  # every trial finished: only the missing records
    _assert_mlflow_matches_metrics(local, directory)


def test_methodlab_integrations_and_mlflow_tracking_uri_select_the_store(
        out, local, tmp_path, monkeypatch):
    document = _document("by-env", seeds=[0], integrations={})
    monkeypatch.delenv("METHODLAB_INTEGRATIONS", raising=False)
    _run(tmp_path / "off", document)
    assert not (tmp_path / "off" / "mlflow.db").exists()
    assert not (tmp_path / "off" / "by-env" / "mlflow.json").exists()

    # The environment's URI (here the other tests' store) wins over the local default, and
    # its artifacts go next to that store's database, not to ./mlruns where the run started.
    monkeypatch.setenv("METHODLAB_INTEGRATIONS", "tensorboard,mlflow")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", default_tracking_uri(out))
    monkeypatch.chdir(tmp_path)
    directory = _run(tmp_path / "on", document)
    assert not (tmp_path / "on" / "mlflow.db").exists()
    assert not (tmp_path / "mlruns").exists()
    runs = local.search_runs([local.get_experiment_by_name("by-env").experiment_id])
    assert sorted(run.info.run_name for run in runs) == ["adam/seed-0", "by-env", "sgd/seed-0"]
    state = json.loads((directory / "mlflow.json").read_text())
    assert state["tracking_uri"] == default_tracking_uri(out)


def test_resolved_settings_are_text_with_defaults():
    spec = validate_document(_document("flat", integrations={}), "flat.toml",
                             isolated_plugin_system())
    flat = resolved_settings(spec.arm("adam"))
    assert flat["optimizer.lr"] == "0.01"
    assert flat["loss.label_smoothing"] == "0.0"
    assert flat["evaluators.test.use"] == "accuracy"
    assert flat["train.on_nonfinite"] == "stop"
    assert all(isinstance(value, str) for value in flat.values())


# -- a real tracking server -------------------------------------------------------------------


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``mlflow server`` on loopback with a temporary store; stopped after the module."""
    root = tmp_path_factory.mktemp("mlflow-server")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [str(Path(sys.executable).parent / "mlflow"), "server", "--host", "127.0.0.1",
               "--port", str(port), "--workers", "1",
               "--backend-store-uri", f"sqlite:///{root / 'server.db'}",
               "--artifacts-destination", str(root / "artifacts")]
    # The server's job runner starts half a dozen worker processes these tests do not need.
    environment = {**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
    log = (root / "server.log").open("w")
    process = subprocess.Popen(command, cwd=root, stdout=log, stderr=subprocess.STDOUT,
                               env=environment, start_new_session=True)
    uri = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                urllib.request.urlopen(f"{uri}/health", timeout=2).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    log_text = (root / "server.log").read_text()
                    pytest.fail(f"mlflow server did not start:\n{log_text}")
                time.sleep(0.5)
        yield uri
    finally:
        os.killpg(process.pid, signal.SIGTERM)  # the server and the uvicorn worker it started
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        log.close()


def test_a_run_logged_to_mlflow_server_reads_back_the_same(server, tmp_path, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", server)
    directory = _run(tmp_path, _document("served"))
    client = MlflowClient(server)
    _assert_mlflow_matches_metrics(client, directory)
    parent_id = json.loads((directory / "mlflow.json").read_text())["parent_run_id"]
    assert {item.path for item in client.list_artifacts(parent_id)} == {
        "summary.json", "resolved.toml", "curves.png"}
