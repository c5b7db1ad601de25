r"""Projected Natural Gradient Descent (PRONG): SGD on whitened parameters, with the
whitening refreshed every T updates inside the training loop."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from methodlab.step import StepContext
from torch import Tensor, nn

from methodlab_natural_neural_networks.config import PRONGParams

__all__ = ["PRONG", "build"]


class PRONG(torch.optim.Optimizer):
    r"""SGD on the whitened parameters :math:`\Omega = \{V_i, d_i\}` of a model, refreshing
    its centring and whitening every :math:`T` updates (Algorithm 1 of the paper).

    .. math::

        \Omega_{t+1} &= \Omega_t - \eta\, \nabla_\Omega L(\Omega_t) \\
        \text{if } t \bmod T = 0:\quad &
            \Phi \leftarrow \text{re-estimated from the last } N_s
            \text{ training inputs},\quad
            \Omega_{t+1} \leftarrow P_\Phi(P^{-1}_{\Phi_{old}}(\Omega_{t+1}))

    The projection leaves the network function unchanged (see
    :meth:`~methodlab_natural_neural_networks.network.WhitenedNetwork.reparametrize`). Because
    the whitened inputs have (almost) identity covariance, the Fisher's diagonal blocks are
    better conditioned, and the SGD step on :math:`\Omega` approximates a block-diagonal
    natural gradient step on the canonical parameters.

    In a methodlab run the optimizer is called with the step's
    :class:`~methodlab.step.StepContext` and takes the refresh sample from the training
    batches it sees, which are a pure function of the run's seed and step; outside methodlab
    pass each update's inputs as ``opt.step(inputs=x)``.

    References:
        Natural Neural Networks (Desjardins, Simonyan, Pascanu & Kavukcuoglu, 2015),
        https://arxiv.org/abs/1507.00210, Algorithm 1.

    Arguments:
        model: a model with ``reparametrize(inputs)``, e.g. a
            :class:`~methodlab_natural_neural_networks.network.WhitenedNetwork`; every one of
            its parameters is trained.
        lr: learning rate :math:`\eta`.
        period: reparametrisation period :math:`T` (updates).
        num_samples: size :math:`N_s` of the refresh sample (the most recent training inputs).

    Shapes:
        inputs (or ``context.batch.inputs``) :math:`(B, D)`.

    Example:
        >>> from methodlab_natural_neural_networks.network import WhitenedNetwork
        >>> _ = torch.manual_seed(0)
        >>> net = WhitenedNetwork.feedforward((4, 3, 4), "tanh")
        >>> opt = PRONG(net, lr=0.1, period=2, num_samples=16)
        >>> x = torch.rand(8, 4)
        >>> for _ in range(3):
        ...     opt.zero_grad()
        ...     loss = ((net(x) - x) ** 2).mean()
        ...     loss.backward()
        ...     _ = opt.step(inputs=x)
        >>> opt.reparametrizations
        2

    .. note::
        The paper refreshes before the SGD update of steps :math:`t \bmod T = 0`; here the
        refresh follows the update of those steps, so that it can use the inputs of the
        current batch and a plain ``loss.backward(); opt.step()`` loop never holds a gradient
        taken in the old parametrisation. The first refresh (after update 0) therefore sees
        one batch, and every later one the :math:`N_s` most recent training inputs; the paper
        draws :math:`N_s` samples from the training set.
    """

    needs_step_context = True

    def __init__(
        self, model: nn.Module, lr: float = 0.01, period: int = 50, num_samples: int = 500
    ) -> None:
        if lr <= 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if period < 1:
            raise ValueError(f"Invalid reparametrisation period T: {period}")
        if num_samples < 2:
            raise ValueError(f"Invalid number of refresh samples N_s: {num_samples}")
        if not callable(getattr(model, "reparametrize", None)):
            raise TypeError(
                f"prong needs a model with a reparametrize(inputs) method, e.g. "
                f"whitened-autoencoder or whitened-mlp; got {type(model).__name__}"
            )
        super().__init__(model.parameters(), {"lr": lr})
        if len(self.param_groups) != 1:
            raise ValueError("prong supports a single parameter group")
        self.model = model
        self.period = period
        self.num_samples = num_samples

    @property
    def _state(self) -> dict[str, Any]:
        # Optimizer-wide state lives on the first parameter (as in torch.optim.LBFGS), so
        # state_dict() saves it and load_state_dict() restores it.
        return self.state[self.param_groups[0]["params"][0]]

    @property
    def reparametrizations(self) -> int:
        """Number of refreshes done so far."""
        return int(self._state.get("reparametrizations", 0))

    @torch.no_grad()
    def step(
        self,
        closure: Callable[[], Tensor] | None = None,
        *,
        context: StepContext | None = None,
        inputs: Tensor | None = None,
    ) -> Tensor | None:
        """One SGD update of all parameters, then a refresh when the update index is a
        multiple of :math:`T`.

        :param closure: re-evaluates the loss and its gradient (optional when the gradient is
            already there).
        :param context: the methodlab step context: gives the update index and the batch.
        :param inputs: this update's inputs, outside methodlab.
        :returns: the closure's loss, or ``None``.
        """
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        if context is not None:
            inputs = context.batch.inputs
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    p.add_(p.grad, alpha=-group["lr"])
        state = self._state
        t = context.step if context is not None else int(state.get("step", 0))
        if inputs is not None:
            recent = state.get("recent_inputs")
            recent = inputs.detach() if recent is None else torch.cat([recent, inputs.detach()])
            state["recent_inputs"] = recent[-self.num_samples :].clone()
        if t % self.period == 0:
            if "recent_inputs" not in state:
                raise RuntimeError(
                    "prong needs the batch inputs to refresh the whitening: call "
                    "step(closure, context=...) or step(inputs=x)"
                )
            self.model.reparametrize(state["recent_inputs"])
            state["reparametrizations"] = self.reparametrizations + 1
        state["step"] = t + 1
        return loss


def build(params: PRONGParams, *, model: nn.Module) -> PRONG:
    return PRONG(model, lr=params.lr, period=params.period, num_samples=params.num_samples)
