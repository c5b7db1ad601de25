"""Returns, advantages and the A2C loss against hand computations."""

from __future__ import annotations

import pytest
import torch
from methodlab_gymnasium.a2c import A2CLoss, a2c_terms, masked_mean, returns_and_advantages
from methodlab_gymnasium.config import A2CParams
from methodlab_gymnasium.rollout import Rollout
from torch import nn


def _rollout(rewards: list[float], terminated: list[bool] | None = None,
             truncated: list[bool] | None = None, valid: list[bool] | None = None) -> Rollout:
    T = len(rewards)

    def column(values: list, dtype: torch.dtype) -> torch.Tensor:
        return torch.tensor(values, dtype=dtype).view(T, 1)

    flags = [False] * T
    obs = torch.arange(T, dtype=torch.float64).view(T, 1, 1)
    return Rollout(obs=obs, actions=torch.zeros(T, 1, dtype=torch.long),
                   rewards=column(rewards, torch.float64),
                   terminated=column(terminated or flags, torch.bool),
                   truncated=column(truncated or flags, torch.bool),
                   valid=column(valid or [True] * T, torch.bool), next_obs=obs + 1)


def _col(values: list[float]) -> torch.Tensor:
    return torch.tensor(values, dtype=torch.float64).view(-1, 1)


def test_n_step_returns_bootstrap_at_the_end():
    r = _rollout([1.0, 2.0, 3.0])
    returns, adv = returns_and_advantages(r, _col([0.5, 0.5, 0.5]), _col([0.5, 0.5, 4.0]),
                                          gamma=0.9, gae_lambda=1.0)
    # R_2 = 3 + .9·4 = 6.6; R_1 = 2 + .9·6.6 = 7.94; R_0 = 1 + .9·7.94 = 8.146
    assert returns.squeeze(1).tolist() == pytest.approx([8.146, 7.94, 6.6])
    assert adv.squeeze(1).tolist() == pytest.approx([7.646, 7.44, 6.1])


def test_termination_stops_bootstrap_but_truncation_does_not():
    # V = 2 everywhere; the observation after t = 1 (final, or first of the next episode's
    # stand-in) is worth 10, and V(s'_2) = 4.
    values, next_values = _col([2.0, 2.0, 2.0]), _col([2.0, 10.0, 4.0])
    ended = returns_and_advantages(_rollout([1.0, 1.0, 1.0], terminated=[False, True, False]),
                                   values, next_values, gamma=0.5, gae_lambda=1.0)[0]
    # t = 1 terminates: R_1 = 1, no bootstrap; R_0 = 1 + .5 R_1; R_2 = 1 + .5·4.
    assert ended.squeeze(1).tolist() == pytest.approx([1.5, 1.0, 3.0])
    cut = returns_and_advantages(_rollout([1.0, 1.0, 1.0], truncated=[False, True, False]),
                                 values, next_values, gamma=0.5, gae_lambda=1.0)[0]
    # t = 1 truncated: R_1 = 1 + .5·V(final obs) = 6; nothing from t = 2 leaks back.
    assert cut.squeeze(1).tolist() == pytest.approx([4.0, 6.0, 3.0])


def test_gae_lambda_zero_is_one_step_td():
    r = _rollout([1.0, 2.0])
    values, next_values = _col([0.25, 0.5]), _col([0.5, 2.0])
    _, adv = returns_and_advantages(r, values, next_values, gamma=0.9, gae_lambda=0.0)
    assert adv.squeeze(1).tolist() == pytest.approx([1 + 0.45 - 0.25, 2 + 1.8 - 0.5])
    _, half = returns_and_advantages(r, values, next_values, gamma=0.9, gae_lambda=0.5)
    assert half[0, 0].item() == pytest.approx(1.2 + 0.9 * 0.5 * 3.3)


def test_invalid_steps_get_zero_advantage_and_are_excluded():
    r = _rollout([1.0, 5.0, 1.0], truncated=[True, False, False], valid=[True, False, True])
    returns, adv = returns_and_advantages(r, _col([0.0] * 3), _col([0.0] * 3), 0.9, 1.0)
    assert adv[1, 0] == 0.0 and returns[1, 0] == 0.0
    assert masked_mean(_col([1.0, 100.0, 3.0]), r.valid).item() == 2.0


class _Tabular(nn.Module):
    """Logits and values looked up by the (integer) observation."""

    def __init__(self) -> None:
        super().__init__()
        self.logits = nn.Parameter(torch.tensor([[0.0, 1.0], [1.0, 0.0], [0.5, 0.5],
                                                 [0.0, 0.0]], dtype=torch.float64))
        self.values = nn.Parameter(torch.tensor([0.1, 0.2, 0.3, 0.4], dtype=torch.float64))

    def forward(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        index = obs.view(-1).long()
        return self.logits[index], self.values[index]


def test_loss_combines_the_terms_as_documented():
    model, rollout = _Tabular(), _rollout([1.0, 1.0, 1.0])
    params = A2CParams(gamma=0.9, value_coef=0.25, entropy_coef=0.1)
    terms = a2c_terms(model, rollout, gamma=0.9)
    log_pi = torch.log_softmax(model.logits[:3], -1)[:, 0]  # actions are all 0
    returns, adv = returns_and_advantages(rollout, model.values[:3].view(3, 1),
                                          model.values[1:].view(3, 1), 0.9, 1.0)
    assert terms["policy"].item() == pytest.approx(-(adv.view(3) * log_pi).mean().item())
    value_mse = ((returns.view(3) - model.values[:3]) ** 2).mean()
    assert terms["value"].item() == pytest.approx(value_mse.item())
    entropy = -(log_pi.exp() * log_pi + (1 - log_pi.exp()) * torch.log1p(-log_pi.exp()))
    assert terms["entropy"].item() == pytest.approx(entropy.mean().item())
    loss = A2CLoss(params)(model, rollout)
    expected = terms["policy"] + 0.25 * terms["value"] - 0.1 * terms["entropy"]
    assert loss.item() == pytest.approx(expected.item())
    loss.backward()
    assert model.logits.grad[3].abs().sum() == 0  # s'_2 = 3 is only bootstrapped (detached)
    assert model.values.grad[3] == 0


def test_normalized_advantages_have_zero_mean_unit_std_over_valid():
    rollout = _rollout([1.0, 3.0, 0.0, 7.0], valid=[True, True, False, True])
    model = _Tabular()
    model.logits.data = torch.zeros(5, 2, dtype=torch.float64)
    model.values.data = torch.zeros(5, dtype=torch.float64)
    terms = a2c_terms(model, rollout, gamma=0.0, normalize_advantages=True)
    adv = terms["advantages"][rollout.valid]
    assert adv.mean().item() == pytest.approx(0.0, abs=1e-12)
    assert adv.pow(2).mean().item() == pytest.approx(1.0, rel=1e-6)
