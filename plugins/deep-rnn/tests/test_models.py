"""The five recurrent models: shapes, exact parameter counts, the equations, causality and
learning on synthetic tokens and piano rolls."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from methodlab_deep_rnn.models import DOTSRNN, DTRNN, RecurrentNet, ShallowRNN, StackedRNN
from methodlab_deep_rnn.sizing import count_parameters

DTYPE = torch.float64


def make(variant: str, n_in: int, n_out: int, hidden: int, tokens: bool) -> RecurrentNet:
    return {
        "shallow": lambda: ShallowRNN(n_in, n_out, hidden, tokens=tokens),
        "dt": lambda: DTRNN(n_in, n_out, hidden, tokens=tokens, transition_layers=2),
        "dts": lambda: DTRNN(n_in, n_out, hidden, tokens=tokens, transition_layers=2,
                             shortcut=True),
        "dots": lambda: DOTSRNN(n_in, n_out, hidden, tokens=tokens, transition_layers=2,
                                output_layers=2),
        "stacked": lambda: StackedRNN(n_in, n_out, hidden, tokens=tokens, layers=3),
    }[variant]().to(DTYPE)


VARIANTS = ["shallow", "dt", "dts", "dots", "stacked"]


@pytest.fixture
def one_thread():
    # Tiny matrices: thread hand-offs cost more than they save, and the CPUs are shared.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def rolls(batch: int, time: int, pitches: int, seed: int = 0) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return (torch.rand(batch, time, pitches, generator=generator) < 0.3).to(DTYPE)


@pytest.mark.parametrize("variant", VARIANTS)
def test_shapes_for_tokens_and_rolls(variant):
    torch.manual_seed(0)
    tokens = make(variant, 7, 7, 5, tokens=True)
    assert tokens(torch.randint(7, (3, 4))).shape == (3, 4, 7)
    frames = make(variant, 6, 6, 5, tokens=False)
    assert frames(rolls(2, 9, 6)).shape == (2, 9, 6)


@pytest.mark.parametrize(("model", "expected"), [
    # U 5·3 + b 3, W 3·3, V 3·5 + c 5
    (ShallowRNN(5, 5, 3, tokens=True), 47),
    # U 4·3, b_1 3, W_1 9, W_2 9, b_2 3, V 3·4 + 4
    (DTRNN(4, 4, 3), 52),
    # [U, Ū] 4·6, [b_1, b_2] 6, [W_1, W̄] 3·6, W_2 9, V 16
    (DTRNN(4, 4, 3, shortcut=True), 73),
    # DT(S) and two deep-output layers of 3·3 + 3
    (DOTSRNN(4, 4, 3, output_layers=2), 97),
    # U¹..U³ 4·9, b 9, W¹..W³ 27, A², A³ 18, V 9·2 + 2
    (StackedRNN(4, 2, 3, layers=3), 110),
    # one more transition layer: W 9 and b 3
    (DTRNN(4, 4, 3, transition_layers=2), 64),
])
def test_parameter_counts_by_hand(model, expected):
    assert count_parameters(model) == expected
    assert f"parameters={expected}" in repr(model)


def reference(model: RecurrentNet, frames: torch.Tensor) -> torch.Tensor:
    """The docstring equations written out for one sequence at a time, from the parameters."""
    n, phi = model.hidden, torch.tanh
    drive = frames @ model.encode.weight.T + model.bias  # (B, T, k n_h)
    outputs = []
    for sequence in drive:
        if isinstance(model, StackedRNN):
            layers = len(model.recurrent)
            h = [torch.zeros(n, dtype=DTYPE) for _ in range(layers)]
            states = []
            for d in sequence:
                parts = d.split(n)
                for layer in range(layers):
                    pre = parts[layer] + h[layer] @ model.recurrent[layer]
                    if layer:
                        pre = pre + h[layer - 1] @ model.upward[layer - 1]
                    h[layer] = phi(pre)
                states.append(torch.cat(h))
            outputs.append(model.output(torch.stack(states)))
            continue
        h = torch.zeros(n, dtype=DTYPE)
        states = []
        for d in sequence:
            if isinstance(model, ShallowRNN):
                h = phi(d + h @ model.recurrent)
            else:
                w_1, b_1 = model.enter[:, :n], d[:n]
                z = phi(b_1 + h @ w_1)
                inner = list(model.layers)
                for weight, bias in zip(inner[:-1], model.layer_bias, strict=False):
                    z = phi(z @ weight + bias)
                top = z @ inner[-1]
                if model.shortcut:
                    top = top + d[n:] + h @ model.enter[:, n:]
                else:
                    top = top + model.layer_bias[-1]
                h = phi(top)
            states.append(h)
        y = torch.stack(states)
        for layer in getattr(model, "deep_output", []):
            y = phi(layer(y))
        outputs.append(model.output(y))
    return torch.stack(outputs)


@pytest.mark.parametrize("variant", VARIANTS)
def test_forward_matches_the_equations(variant):
    torch.manual_seed(1)
    model = make(variant, 6, 6, 4, tokens=False)
    x = rolls(3, 5, 6)
    torch.testing.assert_close(model(x), reference(model, x), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("variant", VARIANTS)
def test_tokens_are_one_hot_frames(variant):
    # An embedding row is U times a one-hot vector: the same weights give the same logits.
    torch.manual_seed(2)
    tokens = make(variant, 7, 7, 4, tokens=True)
    frames = make(variant, 7, 7, 4, tokens=False)
    state = tokens.state_dict()
    state["encode.weight"] = state["encode.weight"].T
    frames.load_state_dict(state)
    x = torch.randint(7, (2, 6))
    torch.testing.assert_close(tokens(x), frames(F.one_hot(x, 7).to(DTYPE)), rtol=1e-12,
                               atol=1e-12)


@pytest.mark.parametrize("variant", VARIANTS)
def test_outputs_depend_only_on_the_past(variant):
    torch.manual_seed(3)
    model = make(variant, 5, 5, 4, tokens=False)
    x = rolls(2, 8, 5)
    changed = x.clone()
    changed[:, 5:] = 1 - changed[:, 5:]
    before, after = model(x), model(changed)
    torch.testing.assert_close(before[:, :5], after[:, :5], rtol=0, atol=0)
    assert not torch.allclose(before[:, 5:], after[:, 5:])


def test_wrong_inputs_are_rejected_with_the_expected_form():
    with pytest.raises(ValueError, match=r"\(B, T\) torch.long"):
        ShallowRNN(5, 5, 3, tokens=True)(torch.zeros(2, 3, 5))
    with pytest.raises(ValueError, match=r"\(B, T, 5\)"):
        ShallowRNN(5, 5, 3)(torch.zeros(2, 3, dtype=torch.long))
    with pytest.raises(ValueError, match="activation 'softsign'"):
        ShallowRNN(5, 5, 3, activation="softsign")


@pytest.mark.parametrize("variant", VARIANTS)
def test_learns_a_periodic_piano_roll(variant, one_thread):
    # Four chords in a fixed cycle: the next frame is a function of the current one, so the
    # per-frame NLL must fall far below that of the untrained model (≈ P ln 2).
    torch.manual_seed(4)
    pitches = 8
    chords = (torch.rand(4, pitches, generator=torch.Generator().manual_seed(5)) < 0.4)
    roll = chords.float()[torch.arange(12) % 4].expand(2, 12, pitches)
    model = make(variant, pitches, pitches, 12, tokens=False).float()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.05)

    def nll() -> torch.Tensor:
        logits = model(roll)
        return F.binary_cross_entropy_with_logits(logits[:, :-1], roll[:, 1:],
                                                  reduction="sum") / (2 * 11)

    start = float(nll().detach())
    for _ in range(40):
        optimizer.zero_grad()
        loss = nll()
        loss.backward()
        optimizer.step()
    assert start > 4.0
    assert float(nll().detach()) < 0.5


@pytest.mark.parametrize("variant", VARIANTS)
def test_learns_a_deterministic_token_sequence(variant, one_thread):
    torch.manual_seed(6)
    text = torch.tensor([0, 1, 2, 3, 1, 4] * 3)  # after 1 comes 2 or 4: needs memory
    x, y = text[:-1].expand(2, -1), text[1:].expand(2, -1)
    model = make(variant, 5, 5, 12, tokens=True).float()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
    for _ in range(50):
        optimizer.zero_grad()
        loss = F.cross_entropy(model(x).flatten(0, 1), y.flatten())
        loss.backward()
        optimizer.step()
    # Every next token is determined by the last two, so the cross-entropy must approach 0.
    assert float(loss.detach()) < 0.1
