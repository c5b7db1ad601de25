import numpy as np
import pytest
import torch
from methodlab_aux_loss_similarity.agent import A2CDistillation, distillation_loss
from methodlab_aux_loss_similarity.config import A2CDistillationParams
from methodlab_aux_loss_similarity.gridworld import GridWorld
from methodlab_gymnasium.a2c import A2CLoss
from methodlab_gymnasium.config import A2CParams
from methodlab_gymnasium.models import ActorCritic
from methodlab_gymnasium.rollout import Rollout


def _rollout(T=3, N=2, A=4, D=9):
    generator = torch.Generator().manual_seed(0)
    flags = torch.zeros(T, N, dtype=torch.bool)
    teacher = torch.softmax(torch.randn(T, N, A, generator=generator), -1)
    return Rollout(obs=torch.randn(T, N, D, generator=generator),
                   actions=torch.randint(A, (T, N), generator=generator),
                   rewards=torch.randn(T, N, generator=generator), terminated=flags,
                   truncated=flags, valid=~flags, next_obs=torch.randn(T, N, D,
                                                                     generator=generator),
                   info={"teacher_probs": teacher})


def test_loss_value_is_a2c_and_the_distillation_term_is_the_cross_entropy():
    torch.manual_seed(0)
    model = ActorCritic(9, 4, hidden=[8])
    rollout = _rollout()
    value = A2CDistillation(A2CDistillationParams(mode="weighted"))(model, rollout)
    assert value.item() == pytest.approx(A2CLoss(A2CParams())(model, rollout).item(), rel=1e-6)
    logits, _ = model(rollout.obs.flatten(0, 1))
    probs = rollout.info["teacher_probs"].flatten(0, 1)
    expected = -(probs * torch.log_softmax(logits, -1)).sum(-1).mean()
    got = distillation_loss(logits.view(3, 2, 4), rollout.info["teacher_probs"], rollout.valid)
    assert got.item() == pytest.approx(expected.item(), rel=1e-6)


def test_distillation_never_reaches_the_value_head_and_main_only_ignores_it_elsewhere():
    torch.manual_seed(0)
    model = ActorCritic(9, 4, hidden=[8])
    rollout = _rollout()
    grads = {}
    for mode in ("main-only", "sum"):
        model.zero_grad()
        A2CDistillation(A2CDistillationParams(mode=mode))(model, rollout).backward()
        grads[mode] = {n: p.grad.clone() for n, p in model.named_parameters()}
    model.zero_grad()
    A2CLoss(A2CParams())(model, rollout).backward()
    for name, p in model.named_parameters():
        assert torch.allclose(grads["main-only"][name], p.grad, atol=1e-7)
        same = torch.allclose(grads["sum"][name], p.grad, atol=1e-7)
        assert same == name.startswith("value"), name


def test_missing_teacher_is_a_clear_error():
    rollout = _rollout()
    bare = Rollout(**{k: getattr(rollout, k) for k in ("obs", "actions", "rewards",
                                                       "terminated", "truncated", "valid",
                                                       "next_obs")})
    with pytest.raises(KeyError, match="no 'teacher_probs'"):
        A2CDistillation(A2CDistillationParams())(ActorCritic(9, 4, hidden=[8]), bare)
    assert np.isclose(GridWorld().reset(seed=1)[0].sum(), 1.0)
