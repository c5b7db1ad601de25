import math

import pytest
import torch
from methodlab_aux_loss_similarity.digits import MultiHead
from methodlab_aux_loss_similarity.similarity import GradientSimilarity, cosine, gated_gradients


def _point_losses(aux_centre):
    theta = torch.nn.Parameter(torch.tensor([1.0, 0.0], dtype=torch.float64))
    main = theta.pow(2).sum()                                   # g_m = (2, 0)
    aux = (theta - torch.tensor(aux_centre, dtype=torch.float64)).pow(2).sum()
    return theta, main, aux


@pytest.mark.parametrize(("mode", "expected"), [
    # aux centre (-1, 1): g_a = (4, -2), cos = 8 / (2 * sqrt(20)) = 0.894
    ("weighted", [2 + 4 * 2 / math.sqrt(5), -2 * 2 / math.sqrt(5)]),
    ("unweighted", [6.0, -2.0]),
    ("sum", [6.0, -2.0]),
    ("main-only", [2.0, 0.0]),
])
def test_gate_of_an_agreeing_auxiliary(mode, expected):
    theta, main, aux = _point_losses([-1.0, 1.0])
    surrogate = GradientSimilarity(mode)(main, [aux], [theta])
    assert surrogate.item() == main.item()
    surrogate.backward()
    assert theta.grad.tolist() == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize(("mode", "expected"), [
    # aux centre (2, 1): g_a = (-2, -2), cos = -0.707: both gates block it, the sum does not
    ("weighted", [2.0, 0.0]),
    ("unweighted", [2.0, 0.0]),
    ("sum", [0.0, -2.0]),
])
def test_gate_of_a_conflicting_auxiliary(mode, expected):
    theta, main, aux = _point_losses([2.0, 1.0])
    combine = GradientSimilarity(mode)
    combine(main, [aux], [theta]).backward()
    assert theta.grad.tolist() == pytest.approx(expected, abs=1e-12)
    assert combine.last_cosines.tolist() == pytest.approx([-1 / math.sqrt(2)])


def test_cosine_over_the_flattened_parameters_and_zero_gradient():
    u = [torch.tensor([1.0, 0.0]), torch.tensor([[0.0]])]
    v = [torch.tensor([1.0, 0.0]), torch.tensor([[1.0]])]
    assert cosine(u, v).item() == pytest.approx(1 / math.sqrt(2))
    assert cosine(u, [torch.zeros(2), torch.zeros(1, 1)]).item() == 0.0


def test_heads_get_their_own_gradients_and_the_trunk_the_gated_one():
    torch.manual_seed(0)
    model = MultiHead(4, (3, 2), hidden=(5,)).double()
    x = torch.randn(6, 4, dtype=torch.float64)
    y_main, y_aux = torch.randint(3, (6,)), torch.randint(2, (6,))

    def losses():
        main_logits, aux_logits = model.outputs(x)
        return (torch.nn.functional.cross_entropy(main_logits, y_main),
                torch.nn.functional.cross_entropy(aux_logits, y_aux))

    def grads(loss):
        model.zero_grad()
        loss.backward()
        return {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}

    g_main, g_aux = grads(losses()[0]), grads(losses()[1])
    main, aux = losses()
    _, cosines = gated_gradients(main, [aux], list(model.parameters()))
    main, aux = losses()
    gated = grads(GradientSimilarity("weighted", 0.5)(main, [aux], model))
    weight = 0.5 * max(0.0, float(cosines[0]))
    for name, g in gated.items():
        if name.startswith("trunk"):
            assert torch.allclose(g, g_main[name] + weight * g_aux[name])
        elif name.startswith("heads.0"):
            assert torch.allclose(g, g_main[name])           # the main head: main only
        else:
            assert torch.allclose(g, 0.5 * g_aux[name])      # the auxiliary head: ungated
    # The cosine is over the trunk (the parameters both losses reach), not the heads.
    shared = [n for n in g_main if n.startswith("trunk")]
    expected = cosine([g_main[n] for n in shared], [g_aux[n] for n in shared])
    assert float(cosines[0]) == pytest.approx(float(expected), rel=1e-10)


def test_any_optimizer_sees_the_gated_gradient():
    # One Adam step on the surrogate equals one Adam step given the gated gradient by hand.
    theta, main, aux = _point_losses([-1.0, 1.0])
    twin = torch.nn.Parameter(theta.detach().clone())
    first, second = torch.optim.Adam([theta], lr=0.1), torch.optim.Adam([twin], lr=0.1)
    GradientSimilarity("weighted")(main, [aux], [theta]).backward()
    first.step()
    twin.grad = torch.tensor([2 + 4 * 2 / math.sqrt(5), -2 * 2 / math.sqrt(5)],
                             dtype=torch.float64)
    second.step()
    assert torch.allclose(theta, twin)


def test_without_gradients_it_returns_the_main_loss():
    theta, main, aux = _point_losses([2.0, 1.0])
    with torch.no_grad():
        main, aux = theta.pow(2).sum(), (theta - 1).pow(2).sum()
        value = GradientSimilarity("weighted")(main, [aux], [theta])
    assert value.item() == 1.0 and not value.requires_grad


def test_bad_settings_are_one_line_errors():
    with pytest.raises(ValueError, match="unknown gating mode 'cosine'"):
        GradientSimilarity("cosine")
    theta, main, aux = _point_losses([2.0, 1.0])
    with pytest.raises(ValueError, match="2 weights for 1 auxiliary"):
        gated_gradients(main, [aux], [theta], weights=[1.0, 2.0])
