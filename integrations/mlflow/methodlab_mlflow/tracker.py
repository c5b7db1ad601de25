"""Logging one methodlab run to MLflow.

A run file's run becomes a *parent* MLflow run (named after the run file) in the experiment
``experiment`` (default: the run file's name); each arm × seed becomes a *child* run named
``<arm>/seed-<s>`` (tag ``mlflow.parentRunId``) holding

- params: ``arm``, ``seed`` and the arm's resolved settings flattened to dotted keys
  (``optimizer.lr``, ``model.hidden``, ``train.steps``, ...), defaults included;
- metrics: every record of the trial's ``metrics.jsonl`` under the same name at the same step
  (``step.loss`` after every update, ``<evaluator>.<metric>`` on the evaluation schedule).

At the end the parent gets ``summary.json``, ``resolved.toml`` and the run's PNG figures as
artifacts and one tag per claim verdict; children end ``FINISHED`` (``FAILED`` when the trial
diverged or failed).

Metrics are sent in batches (at each evaluation and checkpoint, and every 1,000 values).
``<run>/mlflow.json`` records the tracking URI, the run ids and how many records of each
trial are logged, so ``methodlab run --resume`` continues the same MLflow runs without
logging a step twice, and logs what an interrupted or failed upload missed.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
import urllib.error
import urllib.request
import weakref
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs
from methodlab.errors import UserError

from methodlab_mlflow.config import MlflowSettings

if TYPE_CHECKING:
    from methodlab.runfile import ArmSpec
    from methodlab.runner import Run, Trial
    from mlflow.entities import Metric

__all__ = ["STATE", "MlflowTracker", "default_tracking_uri", "resolve_tracking_uri",
           "resolved_settings"]

STATE = "mlflow.json"
"""File in the run directory that ties the run to its MLflow runs."""
_BATCH_METRICS = 1000  # MLflow's log_batch limits
_BATCH_PARAMS = 100
_PARAM_LENGTH = 6000
# Without these a stopped server stalls training for minutes per request (7 retries with
# exponential backoff, 120 s timeout); the user's own values win.
_HTTP_DEFAULTS = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2", "MLFLOW_HTTP_REQUEST_TIMEOUT": "10"}


def default_tracking_uri(out: Path) -> str:
    """The local store used when nothing else is configured: ``<out>/mlflow.db`` (SQLite).

    ``out`` is the directory that holds the run directories (``methodlab-runs`` by default),
    so every run of an output directory lands in one store:
    ``mlflow ui --backend-store-uri sqlite:///methodlab-runs/mlflow.db``.
    """
    return f"sqlite:///{(out.resolve() / 'mlflow.db').as_posix()}"


def resolve_tracking_uri(settings: MlflowSettings, out: Path) -> str:
    """The run file's ``tracking_uri``, else ``MLFLOW_TRACKING_URI``, else the local store."""
    return (settings.tracking_uri or os.environ.get("MLFLOW_TRACKING_URI", "").strip()
            or default_tracking_uri(out))


def resolved_settings(arm: ArmSpec) -> dict[str, str]:
    """An arm's resolved settings (defaults included) as MLflow params: dotted keys, text.

    :meth:`~methodlab.runfile.ArmSpec.flat_settings` with every value as MLflow keeps it:
    JSON text (``0.1``, ``true``, ``[8]``), strings as they are, cut to MLflow's limit.
    """
    return {key: (value if isinstance(value, str) else json.dumps(value))[:_PARAM_LENGTH]
            for key, value in arm.flat_settings().items()}


def _describe(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0] if lines else ''}".rstrip(": ")


def _probe(uri: str) -> None:
    """Fail within seconds when nothing answers at an HTTP tracking URI."""
    try:
        urllib.request.urlopen(f"{uri.rstrip('/')}/health", timeout=5).close()
    except urllib.error.HTTPError:
        pass  # something answered (a proxy, an older server): MLflow's own calls decide
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise ConnectionError(f"no MLflow server answers ({reason})") from exc


def _chunks(items: list[Any], size: int) -> Iterable[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _no_trial() -> None:
    return None


@attrs.define
class _TrialLog:
    trial: Callable[[], Trial | None]
    """Weak reference to the trial object being followed (its model is not kept alive; a
    resumed trial is a new object)."""
    run_id: str
    queued: int
    """Records of the trial's history handed to the buffer so far."""


class MlflowTracker:
    """Logs one methodlab run; lifecycle hooks call :meth:`sync` after every update and
    evaluation, :meth:`flush` at evaluations and checkpoints, :meth:`finish` at the end.

    :raises UserError: when the tracking store cannot be reached or set up (before any
        trial trains: one line naming the URI).
    """

    def __init__(self, run: Run, settings: MlflowSettings) -> None:
        self.directory = run.directory
        self.settings = settings
        self.uri = resolve_tracking_uri(settings, run.directory.parent)
        self.arms = {arm.name: arm for arm in run.spec.arms}
        self.seeds = tuple(run.spec.seeds)
        self.failed = False
        self._buffer: list[tuple[str, Metric]] = []
        self._live: dict[str, _TrialLog] = {}
        try:
            self._start(run)
        except Exception as exc:
            raise UserError(f"mlflow: cannot log to {self.uri}: {_describe(exc)}; start the "
                            "server, or point tracking_uri / MLFLOW_TRACKING_URI elsewhere"
                            ) from None

    # -- the hooks' entry points ----------------------------------------------------------

    def sync(self, trial: Trial) -> None:
        """Queue the records the trial added to its history since the last call."""
        if self.failed:
            return
        key = f"{trial.arm}/seed-{trial.seed}"
        log = self._live.get(key)
        if log is None or log.trial() is not trial:
            log = self._guard("starting the MLflow run of " + key, self._open, trial.arm,
                              trial.seed)
            if log is None:
                return
            log.trial = weakref.ref(trial)
        self._queue(log, trial.history[log.queued:])
        log.queued = len(trial.history)
        if len(self._buffer) >= _BATCH_METRICS:
            self.flush()

    def flush(self) -> None:
        """Send the queued metrics and record what is logged in ``mlflow.json``."""
        if self.failed or not self._buffer:
            return
        self._guard("logging metrics", self._send)

    def finish(self, summary: Mapping[str, Any]) -> None:
        """Log what is missing, end the child runs and the parent, upload the artifacts."""
        self.flush()
        if not self.failed:
            self._guard("finishing the MLflow runs", self._finish, summary)

    # -- internals ----------------------------------------------------------------------------

    def _guard(self, action: str, function: Callable[..., Any], *args: Any) -> Any:
        """Run one MLflow operation; a failure turns logging off with one error line.

        The run itself goes on and writes all its files; ``methodlab run --resume DIR``
        logs what is missing once the store is back.
        """
        try:
            return function(*args)
        except Exception as exc:
            self.failed = True
            print(f"error: mlflow: {action} at {self.uri} failed: {_describe(exc)}; MLflow "
                  f"logging is off for the rest of this run (the run's own files are "
                  f"complete; 'methodlab run --resume {self.directory}' logs the rest)",
                  file=sys.stderr, flush=True)
            return None

    def _start(self, run: Run) -> None:
        if self.uri.startswith(("http://", "https://")):
            for variable, value in _HTTP_DEFAULTS.items():
                os.environ.setdefault(variable, value)
            _probe(self.uri)
        elif self.uri.startswith("sqlite:"):
            # Creating a store prints its schema migrations at INFO level.
            for name in ("mlflow.store.db.utils", "alembic"):
                logging.getLogger(name).setLevel(logging.WARNING)
        from mlflow import MlflowClient

        self.client = MlflowClient(tracking_uri=self.uri)
        name = self.settings.experiment or run.spec.name
        experiment = self.client.get_experiment_by_name(name)
        experiment_id = (experiment.experiment_id if experiment is not None
                         else self._create_experiment(name))
        state = self._read_state()
        if state.get("tracking_uri") == self.uri and state.get("experiment_id") == experiment_id:
            self.parent = state["parent_run_id"]
            self.children: dict[str, dict[str, Any]] = state["trials"]
            self.client.update_run(self.parent, status="RUNNING")
        else:
            tags = {"methodlab.directory": str(self.directory), **self.settings.tags}
            if run.spec.description:
                tags["mlflow.note.content"] = run.spec.description
            parent = self.client.create_run(experiment_id, run_name=run.spec.name, tags=tags)
            self.parent = parent.info.run_id
            self.children = {}
            self._log_params(self.parent, {
                "arms": json.dumps(list(self.arms)), "seeds": json.dumps(list(self.seeds)),
                "source": run.spec.source, "plugins": json.dumps(run.plugin_versions)})
        self.experiment_id = experiment_id
        self._write_state()

    def _create_experiment(self, name: str) -> str:
        from mlflow.exceptions import MlflowException

        # A SQLite store keeps artifacts next to its database (MLflow's own default would be
        # ./mlruns in whatever directory the run was started from); a server decides itself.
        location = None
        if self.uri.startswith("sqlite:///"):
            database = Path(self.uri.removeprefix("sqlite:///"))
            location = (database.parent / "mlartifacts").resolve().as_uri()
        try:
            return self.client.create_experiment(name, artifact_location=location)
        except MlflowException:
            # Another process created it in the meantime (runs started in parallel).
            experiment = self.client.get_experiment_by_name(name)
            if experiment is None:
                raise
            return experiment.experiment_id

    def _open(self, arm: str, seed: int) -> _TrialLog:
        key = f"{arm}/seed-{seed}"
        entry = self.children.get(key)
        if entry is None:
            tags = {"mlflow.parentRunId": self.parent, "methodlab.arm": arm,
                    "methodlab.seed": str(seed), **self.settings.tags}
            child = self.client.create_run(self.experiment_id, run_name=key, tags=tags)
            entry = {"run_id": child.info.run_id, "logged": 0}
            self._log_params(entry["run_id"], {"arm": arm, "seed": str(seed),
                                               **resolved_settings(self.arms[arm])})
            self.children[key] = entry
            self._write_state()
        else:  # a resumed trial continues its run after the records already logged
            self.client.update_run(entry["run_id"], status="RUNNING")
        log = _TrialLog(_no_trial, entry["run_id"], entry["logged"])
        self._live[key] = log
        return log

    def _log_params(self, run_id: str, params: Mapping[str, str]) -> None:
        from mlflow.entities import Param

        for chunk in _chunks([Param(k, v) for k, v in params.items()], _BATCH_PARAMS):
            self.client.log_batch(run_id, params=chunk)

    def _queue(self, log: _TrialLog, records: Iterable[Mapping[str, float]]) -> None:
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        for record in records:
            step = int(record["step"])
            self._buffer.extend((log.run_id, Metric(key, float(value), now, step))
                                for key, value in record.items() if key != "step")

    def _send(self) -> None:
        by_run: dict[str, list[Metric]] = {}
        for run_id, metric in self._buffer:
            by_run.setdefault(run_id, []).append(metric)
        self._buffer.clear()
        for run_id, metrics in by_run.items():
            for chunk in _chunks(metrics, _BATCH_METRICS):
                self.client.log_batch(run_id, metrics=chunk)
        for key, log in self._live.items():
            self.children[key]["logged"] = log.queued
        self._write_state()

    def _backfill(self) -> None:
        """Log the records of trials this process did not (fully) log from their files.

        They are trials that finished before the integration was active, or whose upload
        failed in an earlier process; ``metrics.jsonl`` holds the trial's history in order.
        """
        for arm in self.arms:
            for seed in self.seeds:
                key = f"{arm}/seed-{seed}"
                path = self.directory / "trials" / arm / f"seed-{seed}" / "metrics.jsonl"
                if key in self._live or not path.exists():
                    continue
                records = [json.loads(line) for line in path.read_text().splitlines()]
                if len(records) <= self.children.get(key, {}).get("logged", -1):
                    continue  # logged in full by an earlier process
                log = self._open(arm, seed)
                self._queue(log, records[log.queued:])
                log.queued = len(records)
        if self._buffer:
            self._send()

    def _finish(self, summary: Mapping[str, Any]) -> None:
        from mlflow.entities import RunTag

        self._backfill()
        for trial in summary.get("trials", []):
            entry = self.children.get(f"{trial['arm']}/seed-{trial['seed']}")
            if entry is None:
                continue
            self.client.set_tag(entry["run_id"], "methodlab.status", trial["status"])
            self.client.set_terminated(
                entry["run_id"], "FINISHED" if trial["status"] == "finished" else "FAILED")
        if self.settings.artifacts:
            for name in ("summary.json", "resolved.toml"):
                if (self.directory / name).exists():
                    self.client.log_artifact(self.parent, str(self.directory / name))
            for path in sorted(self.directory.rglob("*.png")):
                folder = path.parent.relative_to(self.directory).as_posix()
                self.client.log_artifact(self.parent, str(path),
                                         None if folder == "." else folder)
        claims = list(summary.get("claims", []))
        tags = [RunTag(f"claim.{index}", f"{'PASS' if claim.get('passed') else 'FAIL'}: "
                                         f"{claim.get('name', '')}")
                for index, claim in enumerate(claims)]
        tags.append(RunTag("methodlab.claims", f"{sum(bool(c.get('passed')) for c in claims)}"
                                               f" of {len(claims)} hold"))
        self.client.log_batch(self.parent, tags=tags)
        self.client.set_terminated(self.parent, "FINISHED")
        self._write_state()

    def _read_state(self) -> dict[str, Any]:
        path = self.directory / STATE
        return json.loads(path.read_text()) if path.exists() else {}

    def _write_state(self) -> None:
        state = {"tracking_uri": self.uri, "experiment_id": self.experiment_id,
                 "parent_run_id": self.parent, "trials": self.children}
        temporary = self.directory / f"{STATE}.tmp"
        temporary.write_text(json.dumps(state, indent=2) + "\n")
        temporary.replace(self.directory / STATE)
