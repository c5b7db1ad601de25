"""Settings of the MLflow integration (imports attrs only)."""

from __future__ import annotations

import attrs

__all__ = ["MlflowSettings"]


def _no_spaces(_instance: object, attribute: attrs.Attribute, value: str) -> None:
    # Messages start with the quoted field name: the run-file checker reports them as
    # "integrations.mlflow.<field>: ...".
    if value != value.strip():
        raise ValueError(f"'{attribute.name}' has leading or trailing spaces: {value!r}")


@attrs.frozen
class MlflowSettings:
    """The ``[integrations.mlflow]`` table (every field optional).

    Example::

        [integrations.mlflow]
        tracking_uri = "http://127.0.0.1:5000"
        experiment = "natural-gradient"
    """

    tracking_uri: str = attrs.field(default="", validator=_no_spaces)
    """Where to log: an MLflow tracking server (``http://host:5000``) or a database store
    (``sqlite:///path/mlflow.db``). Empty: the ``MLFLOW_TRACKING_URI`` environment variable,
    or else the local store ``sqlite:///<out>/mlflow.db`` next to the run directories."""
    experiment: str = attrs.field(default="", validator=_no_spaces)
    """MLflow experiment to log into; empty: the run file's ``name``."""
    artifacts: bool = True
    """Upload ``summary.json``, ``resolved.toml`` and the run's PNG figures to the parent
    run at the end."""
    tags: dict[str, str] = attrs.field(factory=dict)
    """Extra tags on the parent run and every trial's run, e.g. ``{ team = "optim" }``."""
