import attrs
import torch
from methodlab_aux_loss_similarity.config import AuxDigitsParams
from methodlab_aux_loss_similarity.digits import aux_digits_data


def test_digits_tasks_and_shuffled_labels():
    helpful = aux_digits_data(AuxDigitsParams())
    harmful = aux_digits_data(attrs.evolve(AuxDigitsParams(), auxiliary="shuffled"))
    assert torch.equal(helpful["train"].inputs, harmful["train"].inputs)
    aux_rows = helpful["train"].targets[:, 1] >= 0
    digits = helpful["train"].targets[aux_rows, 1] + 5      # the pool's true digits 5-9
    shuffled = harmful["train"].targets[aux_rows, 1]
    assert torch.equal(shuffled.sort().values, digits.sort().values)   # a permutation
    assert 0.1 < float((shuffled == digits).float().mean()) < 0.3       # chance is 1/5
    assert set(helpful["test"].targets[:, 0].tolist()) == {0, 1, 2, 3, 4}
    # The 'unlabelled' pool: every training digit but the 50 main ones, true or permuted.
    true = aux_digits_data(AuxDigitsParams(auxiliary="digits", aux_pool="unlabelled"))
    noise = aux_digits_data(AuxDigitsParams(auxiliary="shuffled", aux_pool="unlabelled"))
    rows = true["train"].targets[:, 1] >= 0
    assert int(rows.sum()) == 1437 - 50
    assert torch.equal(true["train"].inputs, noise["train"].inputs)
    labels, permuted = true["train"].targets[rows, 1], noise["train"].targets[rows, 1]
    assert torch.equal(labels.sort().values, permuted.sort().values)
    assert float((labels == permuted).float().mean()) < 0.15          # chance is ~1/10
    assert len(helpful["test"].targets) == 180
