"""``methodlab report``: one self-contained HTML page per run or per set of runs."""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from methodlab import __version__, api, cli
from methodlab.claims import evaluate_claim
from methodlab.errors import UserError
from methodlab.report import CLAIMS_HEADER, FAIL_COLOUR, PASS_COLOUR, _claim_numbers
from methodlab.runfile import Claim
from methodlab.testing import isolated_plugin_system

RUN = """\
name = "{name}"
description = "Two learning rates on a tiny regression"
seeds = [0, 1]

[train]
steps = 6
eval_every = 2

[environment]
use = "synthetic-regression"
n_train = 12
n_test = 6
in_features = 3
batch_size = 4

[model]
use = "mlp"
hidden = [4]

[loss]
use = "mse"

[optimizer]
use = "sgd"

[evaluators.train]
use = "loss"
split = "train"

[arms.slow.optimizer]
lr = 0.01

[arms.fast.optimizer]
lr = 0.1

[[claims]]
name = "the fast arm ends lower"
left = "fast:train.loss"
op = "<"
right = "slow:train.loss"

[[claims]]
name = "<b>slow</b> & steady wins"
left = "slow:train.loss"
op = "<"
right = "fast:train.loss"

[[claims]]
left = "fast:train.loss"
op = "<"
right = "slow:train.loss"
min_seeds = 2
"""

# A src or href that leaves the page (http, https or protocol-relative), or any stylesheet
# or script that could fetch something.
EXTERNAL = re.compile(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//|@import|url\(|<script|<link""",
                      re.IGNORECASE)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Two finished runs with three claims each (one of them fails)."""
    root = tmp_path_factory.mktemp("report")
    directories = []
    for name in ("first", "second"):
        path = root / f"{name}.toml"
        path.write_text(RUN.format(name=name))
        outcome = api.run(path, out=root / "out", quiet=True,
                          plugin_system=isolated_plugin_system())
        directories.append(outcome.directory)
    return directories[0], directories[1]


def summary(directory: Path) -> dict:
    return json.loads((directory / "summary.json").read_text())


def test_one_run_page_has_claims_numbers_curves_run_file_and_versions(runs):
    path = api.report(runs[:1])
    assert path == runs[0] / "report.html"
    page = path.read_text()
    verdicts = summary(runs[0])["claims"]
    assert [v["passed"] for v in verdicts] == [True, False, True]
    # The claims table comes first, one row per claim with its verdict and numbers.
    claims = page[page.index('<table class="claims">'):]
    claims = claims[:claims.index("</table>")]
    rows = claims.split("<tr>")[2:]
    assert [re.search(r">(PASS|FAIL)<", row).group(1) for row in rows] == ["PASS", "FAIL",
                                                                            "PASS"]
    first = verdicts[0]
    assert f"left {first['left']:.6g}, right {first['right']:.6g}" in rows[0]
    # Claim names are text, never markup.
    assert "&lt;b&gt;slow&lt;/b&gt; &amp; steady wins" in rows[1] and "<b>" not in page
    assert (f"holds in 2 of 2 seeds (need 2); left per seed "
            f"[{', '.join(f'{x:.6g}' for x in verdicts[2]['left_per_seed'])}]") in rows[2]
    assert "1 run; 2 of 3 claims hold" in page
    # Final metrics, mean ± std over the two seeds.
    train = summary(runs[0])["arms"]["fast"]["train.loss"]
    assert f"{train['mean']:.6g} ± {train['std']:.2g}" in page
    # Curves are embedded, the resolved run file and every plugin version are shown.
    assert len(re.findall(r'<img alt="[^"]*" src="data:image/png;base64,[A-Za-z0-9+/=]+">',
                          page)) == 1
    resolved = (runs[0] / "resolved.toml").read_text()
    assert html.escape(resolved) in page
    assert f"<td>methodlab</td><td>{__version__}</td>" in page
    assert not EXTERNAL.search(page)


def test_a_set_of_runs_gets_one_page_with_all_arms_and_overlay_curves(runs, tmp_path,
                                                                      monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert cli.main(["report", *map(str, runs)]) == 0
    assert capsys.readouterr().out == "report: report.html\n"
    page = (tmp_path / "report.html").read_text()
    assert "2 runs; 4 of 6 claims hold" in page
    for label in ("first/slow", "first/fast", "second/slow", "second/fast"):
        assert f"<td>{label}</td>" in page
    # The overlay figure plus one per run; the claims table of all runs plus one per run.
    assert page.count("data:image/png;base64,") == 3
    assert page.count('<table class="claims">') == 3
    assert not EXTERNAL.search(page)
    out = tmp_path / "pages" / "both.html"
    assert api.report(runs, out=out) == out and out.exists()


def test_claim_numbers_for_seed_and_family_claims():
    final = {"ng-a": {"loss": [1.0, 2.0]}, "sgd-a": {"loss": [3.0, 0.0]},
             "ng-b": {"loss": [1.0, 1.0]}, "sgd-b": {"loss": [2.0, 2.0]}}
    seeds = evaluate_claim(Claim(left="ng-a:loss", op="<", right="sgd-a:loss", min_seeds=1),
                           final)
    assert _claim_numbers(seeds) == ("holds in 1 of 2 seeds (need 1); left per seed "
                                     "[1, 2], right per seed [3, 0]")
    family = evaluate_claim(Claim(left="ng-*:loss", op="<", right="sgd-*:loss", min_arms=2),
                            final)
    assert _claim_numbers(family) == ("holds for 1 of 2 arm pairs (need 2): a ✗ (1.5 vs 1.5); "
                                      "b ✓ (1 vs 2)")
    median = evaluate_claim(Claim(left="ng-*:loss", op="<", right="sgd-*:loss",
                                  across="median"), final)
    assert _claim_numbers(median) == "left 1.25, right 1.75; per pair: a 1.5 vs 1.5, b 1 vs 2"
    missing = evaluate_claim(Claim(left="ng-a:acc", op="<", value=1.0), final)
    assert _claim_numbers(missing).startswith("error: arm &#x27;ng-a&#x27; has no metric")


def test_an_unfinished_run_is_a_one_line_error(tmp_path, capsys):
    (tmp_path / "run").mkdir()
    with pytest.raises(UserError, match=r"not a methodlab run directory \(no resolved\.toml\)"):
        api.report([tmp_path / "run"])
    (tmp_path / "run" / "resolved.toml").write_text('name = "run"\n')
    with pytest.raises(UserError, match=r"no summary\.json"):
        api.report([tmp_path / "run"])
    assert cli.main(["report", str(tmp_path / "run")]) == 2
    assert capsys.readouterr().err.count("\n") == 1


def _chromium() -> str | None:
    names = (os.environ.get("METHODLAB_CHROMIUM"), "chromium", "chromium-browser",
             "google-chrome", "google-chrome-stable")
    return next((found for name in names if name and (found := shutil.which(name))), None)


def _pixels(image: np.ndarray, colour: str) -> np.ndarray:
    """Mask of the pixels within 4 levels of ``#rrggbb`` (anti-aliasing, colour profiles)."""
    rgb = np.array([int(colour[i:i + 2], 16) for i in (1, 3, 5)])
    return np.abs(image.astype(int) - rgb).max(axis=-1) <= 4


@pytest.mark.skipif(_chromium() is None, reason=(
    "no Chromium binary found (chromium, chromium-browser, google-chrome; or set "
    "METHODLAB_CHROMIUM): PyPI ships no headless Chromium that runs without a download, "
    "so install one with the system's package manager, e.g. apt-get install chromium"))
def test_the_page_renders_in_headless_chromium_with_the_claims_table_on_top(runs, tmp_path):
    from PIL import Image

    page = api.report(runs[:1], out=tmp_path / "report.html")
    screenshot = tmp_path / "screenshot.png"
    # Offline and isolated: no network services, a throw-away profile.
    command = [_chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
               "--no-first-run", "--disable-background-networking",
               "--disable-component-update", "--disable-sync",
               f"--user-data-dir={tmp_path / 'profile'}", f"--screenshot={screenshot}",
               "--window-size=1280,2000", page.resolve().as_uri()]
    done = subprocess.run(command, capture_output=True, text=True, timeout=180,
                          env={**os.environ, "HOME": str(tmp_path)})
    assert done.returncode == 0 and screenshot.exists(), done.stderr[-2000:]
    image = np.asarray(Image.open(screenshot).convert("RGB"))
    assert image.shape == (2000, 1280, 3)
    assert image.std() > 20  # not blank: text, tables and the figure
    # The claims table's dark header band is drawn near the top of the page ...
    header = _pixels(image, CLAIMS_HEADER)
    rows = np.flatnonzero(header.sum(axis=1) > 600)
    assert rows.size >= 10 and rows.min() < 300, rows
    # ... with its verdict cells right under it: two PASS rows and one FAIL row.
    below = slice(rows.max(), rows.max() + 200)
    assert _pixels(image[below], PASS_COLOUR).sum() > 2000
    assert _pixels(image[below], FAIL_COLOUR).sum() > 1000
