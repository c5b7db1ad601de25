"""Registration, conformance and the run files of methodlab-quantized-distillation."""

from __future__ import annotations

from pathlib import Path

from methodlab import api
from methodlab.testing import conformance_suite, run_file_tests

RUNS = Path(__file__).parents[1] / "runs"

# Claim 1 (2-bit quantised distillation >= post-training quantisation + 5 points) does not
# hold as measured (96.7 % vs 92.0 % + 5); see the README. The claim is kept as stated.
NOT_REPRODUCED = {
    "quantized-distillation-digits.toml": "2-bit QD beats 2-bit PTQ by 4.6 points, not 5 "
                                          "(README, 'Measured results')",
}

test_conformance = conformance_suite("quantized-distillation")
test_run_file_validates, test_run_file_claims_hold = run_file_tests(RUNS, NOT_REPRODUCED)


def test_entry_point_installed(assert_entry_point_installed):
    assert_entry_point_installed("methodlab-quantized-distillation", "quantized-distillation")


def test_components_are_registered():
    names = {(row["kind"], row["name"]) for row in api.list_components()
             if row["plugin"] == "methodlab-quantized-distillation"}
    assert names == {("model", "quantized-mlp"), ("loss", "distillation"),
                     ("optimizer", "differentiable-quantization"),
                     ("evaluator", "post-training-quantization"),
                     ("evaluator", "compressed-size")}


def test_claim_run_uses_the_teacher_run_and_the_issue_claims():
    spec = api.validate(RUNS / "quantized-distillation-digits.toml")
    assert Path(spec.inputs["teacher"].run).name == "teacher-digits.toml"
    assert {arm.name for arm in spec.arms} >= {"student", "qd2", "qd4", "dq2"}
    student = spec.arm("student")
    assert student.model.params.quantizer == "none"
    assert {student.evaluators[k].params.bits for k in ("ptq2", "ptq4")} == {2, 4}
    for arm in spec.arms:
        assert arm.model.params.bucket_size == 64 and arm.model.params.hidden == (64,)
        assert arm.train.threads == 1
    dq2 = spec.arm("dq2")
    assert dq2.optimizer.params.switch_step == student.train.steps
    (first, second, third) = spec.claims
    assert (first.op, first.offset, first.right) == (">=", 0.05, "student:ptq2.accuracy")
    assert (second.op, second.tolerance) == ("within", 0.02)
    assert (third.left, third.op, third.right) == ("dq2:test.accuracy", ">=",
                                                   "student:ptq2.accuracy")
    teacher = api.validate(RUNS / "teacher-digits.toml")
    assert teacher.arms[0].model.params.hidden == (512, 512)
    assert set(spec.seeds) <= set(teacher.seeds)
