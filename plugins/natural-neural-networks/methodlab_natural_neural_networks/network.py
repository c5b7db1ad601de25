r"""Whitened layers and networks built from them: the model side of Natural Neural Networks."""

from __future__ import annotations

import copy
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from methodlab.builtins.models import feedforward
from methodlab.components import Environment
from methodlab.curvature import frozen_batchnorm_stats
from torch import Tensor, nn

from methodlab_natural_neural_networks.config import WhitenedAutoencoderParams, WhitenedMLPParams
from methodlab_natural_neural_networks.whitening import WHITENING_KINDS, whitening

__all__ = ["WhitenedLinear", "WhitenedNetwork", "build_autoencoder", "build_mlp"]


class WhitenedLinear(nn.Module):
    r"""An affine layer acting on centred, whitened inputs.

    .. math::

        z = V\, U\, (x - c) + d

    Only :math:`V` and :math:`d` are parameters. The centring :math:`c` and the whitening
    matrix :math:`U` are buffers: they get no gradient, are part of the ``state_dict`` (so
    checkpoints restore them) and change only through :meth:`reparametrize`. The equivalent
    plain layer :math:`z = W x + b` has the canonical parameters
    :math:`W = V U` and :math:`b = d - W c` (:meth:`canonical`).

    References:
        Natural Neural Networks (Desjardins, Simonyan, Pascanu & Kavukcuoglu, 2015),
        https://arxiv.org/abs/1507.00210, Section 3.

    Arguments:
        in_features: input size :math:`D_{in}`.
        out_features: output size :math:`D_{out}`.

    Shapes:
        input :math:`(B, D_{in})`; output :math:`(B, D_{out})`; V :math:`(D_{out}, D_{in})`;
        d :math:`(D_{out},)`; c :math:`(D_{in},)`; U :math:`(D_{in}, D_{in})`.

    Example:
        >>> layer = WhitenedLinear.from_linear(nn.Linear(3, 2))
        >>> layer
        WhitenedLinear(in_features=3, out_features=2)
        >>> [name for name, _ in layer.named_parameters()]
        ['V', 'd']
        >>> [name for name, _ in layer.named_buffers()]
        ['c', 'U']
    """

    c: Tensor
    U: Tensor

    def __init__(
        self,
        in_features: int,
        out_features: int,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        self.in_features = in_features
        self.out_features = out_features
        like = {"device": device, "dtype": dtype}
        self.V = nn.Parameter(torch.empty(out_features, in_features, **like))
        self.d = nn.Parameter(torch.empty(out_features, **like))
        self.register_buffer("c", torch.empty(in_features, **like))
        self.register_buffer("U", torch.empty(in_features, in_features, **like))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Initialise V, d as ``nn.Linear`` does its W, b, and set c = 0, U = I."""
        linear = nn.Linear(self.in_features, self.out_features, device=self.V.device,
                           dtype=self.V.dtype)
        self._load_plain(linear)

    @classmethod
    def from_linear(cls, linear: nn.Linear) -> WhitenedLinear:
        """The whitened layer (c = 0, U = I) computing the same function as ``linear``.

        Draws no random numbers, so converting a network keeps the global generator where
        the plain network left it.
        """
        layer = nn.utils.skip_init(cls, linear.in_features, linear.out_features,
                                   device=linear.weight.device, dtype=linear.weight.dtype)
        layer._load_plain(linear)
        return layer

    @torch.no_grad()
    def _load_plain(self, linear: nn.Linear) -> None:
        # Algorithm 1 starts from c = 0, U = I: the layer is then the plain layer W = V, b = d.
        self.V.copy_(linear.weight)
        self.d.copy_(linear.bias if linear.bias is not None else torch.zeros_like(self.d))
        self.c.zero_()
        self.U.copy_(torch.eye(self.in_features))

    def forward(self, x: Tensor) -> Tensor:
        return F.linear(F.linear(x - self.c, self.U), self.V, self.d)

    @torch.no_grad()
    def canonical(self) -> tuple[Tensor, Tensor]:
        r"""The plain-layer parameters :math:`W = V U` and :math:`b = d - W c`, in float64."""
        W = self.V.double() @ self.U.double()
        return W, self.d.double() - W @ self.c.double()

    @torch.no_grad()
    def reparametrize(self, inputs: Tensor, epsilon: float, kind: str = "pca") -> None:
        r"""Re-estimate :math:`c, U` from ``inputs`` and project :math:`V, d` so that the
        layer computes the same function.

        .. math::

            W = V U_{old},\quad b = d - W c_{old};\qquad
            c, U \leftarrow \text{whitening}(h_{i-1});\qquad
            V \leftarrow W U^{-1},\quad d \leftarrow b + V U c.

        Then :math:`V U (x - c) + d = W x + b` for every :math:`x`. The projection is done in
        float64 and rounded once into the parameters' dtype.

        Shapes:
            inputs :math:`(N_s, D_{in})`: samples of this layer's input.
        """
        W, b = self.canonical()
        c, U, U_inv = whitening(inputs.double(), epsilon, kind)
        V = W @ U_inv
        d = b + V @ (U @ c)
        self.V.copy_(V)
        self.d.copy_(d)
        self.c.copy_(c)
        self.U.copy_(U)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}"


class WhitenedNetwork(nn.Module):
    r"""A feed-forward network of whitened layers, :math:`h_i = f_i(V_i U_{i-1}
    (h_{i-1} - c_{i-1}) + d_i)`, with optional batch normalisation (PRONG+).

    :meth:`reparametrize` refreshes every layer's centring and whitening from samples of its
    input without changing the function the network computes; run it every :math:`T`
    updates (the ``prong`` optimizer does). With ``batch_norm`` each hidden pre-activation
    is batch-normalised before the non-linearity (PRONG+). Batch normalisation follows the
    whitened affine map, whose output a reparametrisation leaves unchanged, so the network
    function stays unchanged in training and in evaluation mode.

    References:
        Natural Neural Networks (Desjardins, Simonyan, Pascanu & Kavukcuoglu, 2015),
        https://arxiv.org/abs/1507.00210, Sections 3.1 (PRONG) and 3.4 (PRONG+).

    Arguments:
        body: a sequence of modules in which some are :class:`WhitenedLinear`.
        epsilon: regulariser :math:`\epsilon` of the whitening (must be > 0).
        whitening: ``"pca"`` or ``"zca"``.

    Shapes:
        input :math:`(B, D)`; output as the last layer's.

    Example:
        >>> torch.manual_seed(0)
        <torch._C.Generator object at ...>
        >>> net = WhitenedNetwork.feedforward((4, 3, 4), "tanh").double()
        >>> x = torch.rand(50, 4, dtype=torch.float64)
        >>> before = net(x).detach()
        >>> net.reparametrize(x)
        >>> float((net(x).detach() - before).abs().max()) < 1e-12
        True
    """

    def __init__(self, body: nn.Sequential, epsilon: float = 1e-2, whitening: str = "pca") -> None:
        super().__init__()
        if epsilon <= 0.0:
            raise ValueError(f"epsilon must be > 0 to keep U invertible, got {epsilon}")
        if whitening not in WHITENING_KINDS:
            raise ValueError(f"unknown whitening {whitening!r}; choose one of {WHITENING_KINDS}")
        if not any(isinstance(module, WhitenedLinear) for module in body.modules()):
            raise ValueError("body has no WhitenedLinear layer to reparametrise")
        self.body = body
        self.epsilon = epsilon
        self.whitening = whitening

    @classmethod
    def feedforward(
        cls,
        sizes: Sequence[int],
        activation: str,
        init: str = "default",
        *,
        batch_norm: bool = False,
        epsilon: float = 1e-2,
        whitening: str = "pca",
    ) -> WhitenedNetwork:
        """The whitened version of :func:`methodlab.builtins.models.feedforward`.

        The weights are drawn exactly as the plain network's (same generator calls), and
        start with :math:`c = 0, U = I`: under the same seed the two compute the same function
        before the first reparametrisation (without ``batch_norm``).
        """
        plain = feedforward(tuple(sizes), activation, init)
        modules: list[nn.Module] = []
        linears = [m for m in plain if isinstance(m, nn.Linear)]
        for module in plain:
            if isinstance(module, nn.Linear):
                modules.append(WhitenedLinear.from_linear(module))
                if batch_norm and module is not linears[-1]:
                    modules.append(nn.BatchNorm1d(module.out_features))
            else:
                modules.append(module)
        return cls(nn.Sequential(*modules), epsilon=epsilon, whitening=whitening)

    def forward(self, x: Tensor) -> Tensor:
        return self.body(x)

    def whitened_layers(self) -> list[WhitenedLinear]:
        """The whitened layers in forward order."""
        return [m for m in self.body.modules() if isinstance(m, WhitenedLinear)]

    @torch.no_grad()
    def canonical_network(self) -> nn.Sequential:
        """A copy of the network with every whitened layer replaced by the plain layer
        :math:`W x + b` it computes (:meth:`WhitenedLinear.canonical`): the same function in
        the ordinary parametrisation."""
        body = copy.deepcopy(self.body)
        for name, module in list(body.named_modules()):
            if isinstance(module, WhitenedLinear):
                W, b = module.canonical()
                plain = nn.Linear(module.in_features, module.out_features,
                                  device=module.V.device, dtype=module.V.dtype)
                plain.weight.copy_(W)
                plain.bias.copy_(b)
                body.set_submodule(name, plain)
        return body

    @torch.no_grad()
    def reparametrize(self, inputs: Tensor) -> None:
        r"""Refresh :math:`c_i, U_i` of every layer from a forward pass on ``inputs`` and
        project :math:`V_i, d_i` so that the network function is unchanged.

        The layer inputs are collected in one forward pass in the network's current mode
        (batch-norm layers in training mode normalise with the statistics of ``inputs`` but
        their running statistics are not updated). Since every layer's reparametrisation
        preserves its output, the inputs of the layers after it are unchanged too.

        Shapes:
            inputs :math:`(N_s, D)`: the refresh sample (:math:`N_s \ge 2`).
        """
        layers = self.whitened_layers()
        seen: dict[int, Tensor] = {}

        def record(module: nn.Module, args: tuple[Tensor, ...]) -> None:
            seen[id(module)] = args[0]

        handles = [layer.register_forward_pre_hook(record) for layer in layers]
        try:
            with frozen_batchnorm_stats(self):
                self.body(inputs)
        finally:
            for handle in handles:
                handle.remove()
        for layer in layers:
            layer.reparametrize(seen[id(layer)], self.epsilon, self.whitening)

    def extra_repr(self) -> str:
        return f"epsilon={self.epsilon}, whitening={self.whitening!r}"


def build_mlp(params: WhitenedMLPParams, *, env: Environment) -> WhitenedNetwork:
    sizes = (env.info.in_features, *params.hidden, env.info.out_features)
    return WhitenedNetwork.feedforward(
        sizes, params.activation, params.init, batch_norm=params.batch_norm,
        epsilon=params.epsilon, whitening=params.whitening,
    )


def build_autoencoder(params: WhitenedAutoencoderParams, *, env: Environment) -> WhitenedNetwork:
    data_size = env.info.in_features
    if params.sizes[0] != data_size or params.sizes[-1] != data_size:
        raise ValueError(
            f"autoencoder sizes {list(params.sizes)} must start and end with the data size "
            f"{data_size}"
        )
    return WhitenedNetwork.feedforward(
        params.sizes, params.activation, params.init, batch_norm=params.batch_norm,
        epsilon=params.epsilon, whitening=params.whitening,
    )
