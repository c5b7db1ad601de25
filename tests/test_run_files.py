"""methodlab.testing.run_file_tests: the run-file tests every plugin reuses."""

from __future__ import annotations

import pytest
from methodlab.testing import run_file_tests


def test_not_reproduced_run_files_become_strict_xfails(tmp_path):
    for name in ("holds.toml", "fails.toml"):
        (tmp_path / name).write_text('name = "x"\n')
    _, claims_hold = run_file_tests(tmp_path, {"fails.toml": "measured 0.9, needs 1.0"})
    (parametrize,) = [mark for mark in claims_hold.pytestmark if mark.name == "parametrize"]
    cases = {case if isinstance(case, str) else case.values[0]: case
             for case in parametrize.args[1]}
    assert cases["holds.toml"] == "holds.toml"
    (xfail,) = cases["fails.toml"].marks
    assert xfail.name == "xfail"
    assert xfail.kwargs == {"strict": True, "reason": "measured 0.9, needs 1.0"}


def test_a_not_reproduced_name_must_be_a_run_file(tmp_path):
    (tmp_path / "real.toml").write_text('name = "x"\n')
    with pytest.raises(ValueError, match=r"lacks: \['typo\.toml'\]"):
        run_file_tests(tmp_path, {"typo.toml": "why"})
