r"""Centred layered Boltzmann machines: the RBM and the deep Boltzmann machine (DBM).

A machine with binary layers :math:`x_0 = v, x_1 = h_1, \dots, x_{L-1}` (consecutive layers
connected, none within a layer) has the centred energy

.. math::

    E(x) = -\sum_{l} (x_l - \mu_l)^\top b_l
           - \sum_{l} (x_l - \mu_l)^\top W_l\, (x_{l+1} - \mu_{l+1}),
    \qquad p(x) = e^{-E(x)} / Z .

The offsets :math:`\mu_l` are fixed buffers (the data mean for :math:`v`, 0.5 for the hidden
layers, as in the MFNG code's ``enable_centering`` with ``mlbiases``); they change the
parametrisation, not the family of distributions, and make the gradient and the metric
better conditioned. Two layers give an RBM, three or more a DBM.

The layers are stored side by side in one state vector of ``N = sum(sizes)`` units, so a
configuration is a row of shape ``(N,)`` and ``model(x)`` returns the energies of a batch of
configurations. The persistent chains of stochastic maximum likelihood live in the buffer
``chains`` of shape ``(M, N)`` and the state of the generator that samples them in the buffer
``sampler_state``, so a checkpoint of the model captures both and a restored model continues
the chains bitwise, whatever else draws from the global generator in between.

Because layers connect only to their neighbours, the even layers are independent given the
odd ones. Summing the even layers out analytically and enumerating the odd ones gives the exact
:math:`\log Z` (:meth:`BoltzmannMachine.log_partition`) and :math:`\log p(v)`
(:meth:`BoltzmannMachine.log_likelihood`) for machines whose odd layers are small.

References:
    Deep Boltzmann Machines (Salakhutdinov & Hinton, 2009)
    https://proceedings.mlr.press/v5/salakhutdinov09a.html

    Deep Boltzmann Machines and the Centering Trick (Montavon & Müller, 2012)
    https://doi.org/10.1007/978-3-642-35289-8_33

    Metric-Free Natural Gradient for Joint-Training of Boltzmann Machines
    (Desjardins, Pascanu, Courville & Bengio, 2013) https://arxiv.org/abs/1301.3545
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = ["BoltzmannMachine", "binary_states"]


def binary_states(n: int, *, dtype: torch.dtype = torch.float64) -> Tensor:
    """All :math:`2^n` binary vectors of length ``n``, one per row.

    Shapes:
        returns :math:`(2^n, n)`.

    Example:
        >>> binary_states(2)
        tensor([[0., 0.],
                [0., 1.],
                [1., 0.],
                [1., 1.]], dtype=torch.float64)
    """
    codes = torch.arange(2**n).unsqueeze(1)
    bits = 2 ** torch.arange(n - 1, -1, -1)
    return (codes.bitwise_and(bits) > 0).to(dtype)


class BoltzmannMachine(nn.Module):
    r"""A centred Boltzmann machine with binary layers ``sizes = (D, H1, H2, ...)``.

    ``model(x)`` is the energy :math:`E(x)` of each configuration (see the module docstring).

    Arguments:
        sizes: units per layer, visible first; two layers give an RBM.
        chains: number ``M`` of persistent negative-phase chains.
        visible_mean: the data mean :math:`\bar v`, shape ``(D,)``: it sets the visible offset
            :math:`\mu_0`, the visible bias :math:`b_0 = \operatorname{logit}(\bar v)` and the
            chains' initial visible states; 0.5 when ``None``.
        init_scale: standard deviation of the initial weights.
        mean_field_steps: sweeps of the positive-phase mean-field inference (one is exact for
            an RBM).

    Shapes:
        forward: ``x`` :math:`(B, N)` → energies :math:`(B,)`; ``chains`` :math:`(M, N)`.

    Example:
        >>> _ = torch.manual_seed(0)
        >>> rbm = BoltzmannMachine((4, 3), chains=5).double()
        >>> rbm(rbm.chains).shape, rbm.chains.shape
        (torch.Size([5]), torch.Size([5, 7]))
        >>> brute = torch.logsumexp(-rbm(binary_states(7)), 0)
        >>> bool(torch.isclose(rbm.log_partition(), brute))
        True
    """

    def __init__(
        self,
        sizes: Sequence[int],
        *,
        chains: int,
        visible_mean: Tensor | None = None,
        init_scale: float = 0.01,
        mean_field_steps: int = 1,
    ) -> None:
        super().__init__()
        if len(sizes) < 2 or min(sizes) < 1:
            raise ValueError(f"sizes must list at least two positive widths, got {sizes!r}")
        self.sizes = tuple(int(s) for s in sizes)
        self.mean_field_steps = mean_field_steps
        self.weights = nn.ParameterList(
            nn.Parameter(init_scale * torch.randn(a, b)) for a, b in itertools.pairwise(sizes)
        )
        mean = (torch.full((sizes[0],), 0.5) if visible_mean is None
                else visible_mean.detach().float().clamp(1e-3, 1 - 1e-3))
        self.biases = nn.ParameterList(
            [nn.Parameter(torch.logit(mean))]
            + [nn.Parameter(torch.zeros(s)) for s in sizes[1:]]
        )
        offsets = torch.cat([mean] + [torch.full((s,), 0.5) for s in sizes[1:]])
        self.register_buffer("offsets", offsets)
        self.register_buffer("chains", torch.bernoulli(offsets.expand(chains, -1).contiguous()))
        # Seeded from the global generator, so the run's seed fixes it.
        generator = torch.Generator().manual_seed(int(torch.randint(2**62, ())))
        self.register_buffer("sampler_state", generator.get_state())

    def extra_repr(self) -> str:
        return f"sizes={self.sizes}, chains={len(self.chains)}"

    # -- layers ---------------------------------------------------------------------------------

    def layers(self, x: Tensor) -> list[Tensor]:
        """Split configurations ``(..., N)`` into per-layer views ``(..., sizes[i])``."""
        return list(torch.split(x, self.sizes, dim=-1))

    def _centred(self, x: Tensor) -> list[Tensor]:
        return self.layers(x - self.offsets)

    def forward(self, x: Tensor) -> Tensor:
        """Energies :math:`E(x)` of configurations ``x`` of shape ``(B, N)``; returns ``(B,)``."""
        c = self._centred(x)
        negative = sum(c_l @ b_l for c_l, b_l in zip(c, self.biases, strict=True))
        for i, w in enumerate(self.weights):
            negative = negative + ((c[i] @ w) * c[i + 1]).sum(-1)
        return -negative

    def field(self, layers: Sequence[Tensor], i: int) -> Tensor:
        r"""Total input to layer ``i`` from its neighbours: :math:`p(x_i = 1 \mid \cdot)` is its
        sigmoid.

        .. math:: f_i = b_i + W_{i-1}^\top (x_{i-1} - \mu_{i-1}) + W_i (x_{i+1} - \mu_{i+1})
        """
        mu = self.layers(self.offsets)
        centred = {j: layers[j] - mu[j] for j in (i - 1, i + 1) if 0 <= j < len(self.sizes)}
        return self._centred_field()(centred, i)

    def _centred_field(self) -> Callable[[Mapping[int, Tensor], int], Tensor]:
        """``field`` on centred neighbours, with the parameters unpacked once: sampling and
        mean-field call it in their inner loops, where module attribute lookups dominate."""
        weights, biases, last = list(self.weights), list(self.biases), len(self.sizes) - 1

        def field(centred: Mapping[int, Tensor], i: int) -> Tensor:
            total = biases[i]
            if i > 0:
                total = total + centred[i - 1] @ weights[i - 1]
            if i < last:
                total = total + centred[i + 1] @ weights[i].T
            return total

        return field

    def _sweep_order(self) -> list[int]:
        """Odd layers, then even ones: each block is conditionally independent."""
        return [*range(1, len(self.sizes), 2), *range(0, len(self.sizes), 2)]

    # -- inference and sampling -----------------------------------------------------------------

    @torch.no_grad()
    def mean_field(self, visible: Tensor) -> Tensor:
        r"""Positive phase: clamp :math:`v` and iterate the factorised posterior's means.

        Hidden means start at the offsets; each sweep updates the odd layers, then the even
        hidden layers, from their neighbours' current means (``mean_field_steps`` sweeps).

        Shapes:
            visible :math:`(B, D)` → configurations :math:`(B, N)` with :math:`v` and the
            hidden means.
        """
        field, mu = self._centred_field(), self.layers(self.offsets)
        means = [visible] + [m.expand(len(visible), -1) for m in mu[1:]]
        centred = {i: means[i] - mu[i] for i in range(len(means))}
        hidden = [i for i in self._sweep_order() if i > 0]
        for _ in range(self.mean_field_steps):
            for i in hidden:
                means[i] = torch.sigmoid(field(centred, i))
                centred[i] = means[i] - mu[i]
        return torch.cat(means, dim=-1)

    @torch.no_grad()
    def gibbs_(self, steps: int) -> Tensor:
        """Advance the persistent chains by ``steps`` block-Gibbs sweeps (odd layers given the
        even ones, then the even layers) and return them, shape ``(M, N)``.

        Uniforms come from a CPU generator restored from and saved to ``sampler_state``, so
        the chains are the same on every device and after a checkpoint round trip.
        """
        generator = torch.Generator().set_state(self.sampler_state.cpu())
        field, mu = self._centred_field(), self.layers(self.offsets)
        states = self.layers(self.chains.clone())
        centred = {i: states[i] - mu[i] for i in range(len(states))}
        for _ in range(steps):
            for i in self._sweep_order():
                probabilities = torch.sigmoid(field(centred, i))
                uniforms = torch.rand(probabilities.shape, generator=generator,
                                      dtype=probabilities.dtype)
                states[i] = (uniforms.to(probabilities.device) < probabilities).to(
                    probabilities.dtype)
                centred[i] = states[i] - mu[i]
        self.chains.copy_(torch.cat(states, dim=-1))
        self.sampler_state.copy_(generator.get_state())
        return self.chains

    # -- exact likelihood -----------------------------------------------------------------------

    def _odd_states(self) -> list[Tensor]:
        """Every joint state of the odd layers, split per layer (index 0 and even: empty)."""
        odd = self.sizes[1::2]
        states = binary_states(sum(odd), dtype=self.offsets.dtype).to(self.offsets.device)
        parts = iter(torch.split(states, odd, dim=-1))
        return [next(parts) if i % 2 else states[:, :0] for i in range(len(self.sizes))]

    def _summed_even(self, layers: list[Tensor], first: int) -> Tensor:
        r"""Log of the sum over even layers ``first, first+2, ...`` given the odd ones.

        Each term of :math:`-E` touches exactly one even layer :math:`e`, in which it is linear:
        :math:`(x_e - \mu_e)^\top f_e`, so the layer sums to
        :math:`\sum_i \operatorname{softplus}(f_{e,i}) - \mu_e^\top f_e`.
        """
        mu = self.layers(self.offsets)
        total = 0.0
        for e in range(first, len(self.sizes), 2):
            f = self.field(layers, e)
            total = total + F.softplus(f).sum(-1) - f @ mu[e]
        return total

    def _odd_bias_term(self, layers: list[Tensor]) -> Tensor:
        mu = self.layers(self.offsets)
        return sum((layers[o] - mu[o]) @ self.biases[o] for o in range(1, len(self.sizes), 2))

    def log_partition(self) -> Tensor:
        r"""Exact :math:`\log Z`, enumerating the :math:`2^{H_1 + H_3 + \dots}` odd states.

        Differentiable: its Hessian is the metric MFNG approximates (see the tests).
        """
        layers = self._odd_states()
        return torch.logsumexp(self._odd_bias_term(layers) + self._summed_even(layers, 0), 0)

    def log_unnormalised(self, visible: Tensor) -> Tensor:
        r""":math:`\log \sum_h e^{-E(v, h)}` for each row of ``visible``, shape ``(B, D)`` →
        ``(B,)``."""
        layers = self._odd_states()
        mu0 = self.layers(self.offsets)[0]
        # (B, K): the visible layer's term for every (example, odd state) pair.
        visible_term = (visible - mu0) @ self.field(layers, 0).T
        rest = self._odd_bias_term(layers) + self._summed_even(layers, 2)
        return torch.logsumexp(visible_term + rest, dim=-1)

    def log_likelihood(self, visible: Tensor) -> Tensor:
        r"""Exact :math:`\log p(v)` in nats for each row of ``visible`` ``(B, D)`` → ``(B,)``."""
        return self.log_unnormalised(visible) - self.log_partition()
