"""methodlab's built-in components, registered through the same hooks as any plugin."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from methodlab.builtins import config as c
from methodlab.hookspecs import hookimpl
from methodlab.types import EnvironmentSpec, EvaluatorSpec, LossSpec, ModelSpec, OptimizerSpec

_PKG = "methodlab.builtins"
# The conformance suite runs each component on its example: keep the data tiny.
_DIGITS = {"use": "digits", "n_labeled": 64, "batch_size": 16}
_DIGITS_RECONSTRUCTION = {**_DIGITS, "task": "reconstruction"}
_TINY_ARFF = str(Path(__file__).parent / "data" / "tiny-multilabel.arff")
_TEXT = {"use": "char-text", "seq_len": 8, "batch_size": 4, "eval_chars": 64}


@hookimpl
def methodlab_optimizers() -> Iterator[OptimizerSpec]:
    yield OptimizerSpec("sgd", f"{_PKG}.optimizers:build_sgd", c.SGDParams,
                        "Stochastic gradient descent with (Nesterov) momentum (torch.optim.SGD).")
    yield OptimizerSpec("adam", f"{_PKG}.optimizers:build_adam", c.AdamParams,
                        "Adam (torch.optim.Adam).")
    yield OptimizerSpec("adagrad", f"{_PKG}.optimizers:build_adagrad", c.AdagradParams,
                        "Diagonal AdaGrad (torch.optim.Adagrad).")
    yield OptimizerSpec("rmsprop", f"{_PKG}.optimizers:build_rmsprop", c.RMSpropParams,
                        "RMSprop (torch.optim.RMSprop).")


@hookimpl
def methodlab_models() -> Iterator[ModelSpec]:
    yield ModelSpec("mlp", f"{_PKG}.models:build_mlp", c.MLPParams,
                    "Multi-layer perceptron sized by the environment.")
    yield ModelSpec("autoencoder", f"{_PKG}.models:build_autoencoder", c.AutoencoderParams,
                    "Deep autoencoder with a linear (logit) output layer.",
                    example={"environment": _DIGITS_RECONSTRUCTION,
                             "loss": {"use": "bernoulli-cross-entropy"}})
    yield ModelSpec("recurrent", f"{_PKG}.models:build_recurrent", c.RecurrentParams,
                    "RNN, GRU or LSTM with a per-step read-out; embeds token inputs.",
                    example={"environment": _TEXT, "loss": {"use": "cross-entropy"},
                             "params": {"hidden": 8}})


@hookimpl
def methodlab_losses() -> Iterator[LossSpec]:
    yield LossSpec("cross-entropy", f"{_PKG}.losses:build_cross_entropy", c.CrossEntropyParams,
                   "Softmax cross-entropy on class logits.",
                   example={"environment": _DIGITS})
    yield LossSpec("mse", f"{_PKG}.losses:build_mse", c.NoParams,
                   "Mean squared error, ½‖f(x) − y‖² averaged over the batch.")
    yield LossSpec("bernoulli-cross-entropy", f"{_PKG}.losses:build_bernoulli",
                   c.NoParams, "Sigmoid Bernoulli cross-entropy on logits, summed over outputs.",
                   example={"environment": _DIGITS_RECONSTRUCTION})


@hookimpl
def methodlab_environments() -> Iterator[EnvironmentSpec]:
    yield EnvironmentSpec("digits", f"{_PKG}.environments:build_digits", c.DigitsParams,
                          "scikit-learn's 1,797 8x8 digits with a fixed stratified split.",
                          example={"loss": {"use": "cross-entropy"}})
    yield EnvironmentSpec("synthetic-regression", f"{_PKG}.environments:build_regression",
                          c.SyntheticRegressionParams,
                          "Regression on a fixed random tanh teacher network plus noise.")
    yield EnvironmentSpec("arff-multilabel", "methodlab.arffdata:build_arff_multilabel",
                          c.ArffMultiLabelParams,
                          "Multi-label data from a dense or sparse ARFF file (labels by name "
                          "or the last N).", example={"params": {"path": _TINY_ARFF,
                                                                  "last_labels": 2},
                                                       "loss": {"use": "bernoulli-cross-entropy"}})
    yield EnvironmentSpec("char-text", f"{_PKG}.text:build_char_text", c.CharTextParams,
                          "Next-character prediction on a text file (default: pydoc_data).",
                          example={"loss": {"use": "cross-entropy"},
                                   "model": {"use": "recurrent", "hidden": 8},
                                   "params": {k: v for k, v in _TEXT.items() if k != "use"}})


@hookimpl
def methodlab_evaluators() -> Iterator[EvaluatorSpec]:
    yield EvaluatorSpec("loss", f"{_PKG}.evaluators:build_loss", c.LossEvaluatorParams,
                        "The run's loss averaged over a split.")
    yield EvaluatorSpec("accuracy", f"{_PKG}.evaluators:build_accuracy", c.AccuracyParams,
                        "Classification accuracy (and error) over a split.",
                        example={"environment": _DIGITS,
                                 "loss": {"use": "cross-entropy"}})
    yield EvaluatorSpec("bits-per-character", f"{_PKG}.text:build_bits_per_character",
                        c.BitsPerCharacterParams,
                        "Next-character cross-entropy over a split, in bits per character.",
                        example={"environment": _TEXT, "loss": {"use": "cross-entropy"},
                                 "model": {"use": "recurrent", "hidden": 8}})
