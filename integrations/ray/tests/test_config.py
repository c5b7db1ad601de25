"""The grid and the options (methodlab_ray.config)."""

from __future__ import annotations

import pytest
from methodlab.errors import UserError
from methodlab_ray.config import GridAxis, Point, SweepOptions, parse_axis, points, split_values


def test_values_split_at_top_level_commas_only():
    assert split_values("0.1, 1e-3") == ["0.1", "1e-3"]
    assert split_values('[8, 4],[16],"a,b",{x = 1, y = 2}') == [
        "[8, 4]", "[16]", '"a,b"', "{x = 1, y = 2}"]


def test_an_axis_parses_its_values_as_the_run_file_will():
    axis = parse_axis("model.hidden=[8, 4],[16]")
    assert axis == GridAxis("model.hidden", ("[8, 4]", "[16]"))
    assert axis.values == [[8, 4], [16]]
    assert parse_axis("model.activation=tanh,relu").values == ["tanh", "relu"]
    assert parse_axis("optimizer.lr=0.1,1e-2").values == [0.1, 0.01]


def test_points_are_the_product_with_the_last_axis_fastest():
    grid = (parse_axis("optimizer.lr=0.1,0.2"), parse_axis("model.hidden=[4],[8]"))
    labels = [point.label for point in points(grid)]
    assert labels == ["optimizer.lr-0.1_model.hidden--4-", "optimizer.lr-0.1_model.hidden--8-",
                      "optimizer.lr-0.2_model.hidden--4-", "optimizer.lr-0.2_model.hidden--8-"]
    assert points(grid)[1].overrides == ["optimizer.lr=0.1", "model.hidden=[8]"]
    assert [point.label for point in points(())] == ["base"]


def test_points_whose_directories_would_collide_are_refused():
    with pytest.raises(UserError, match=r"would share the directory 'model\.hidden--4-'"):
        points((GridAxis("model.hidden", ("[4]", "(4)")),))


@pytest.mark.parametrize(("text", "message"), [
    ("optimizer.lr", "--grid 'optimizer.lr': expected key.path=v1,v2,..."),
    ("=0.1", "--grid '=0.1': expected key.path=v1,v2,..."),
    ("optimizer..lr=1", "--grid 'optimizer..lr=1': expected key.path=v1,v2,..."),
    ("optimizer.lr=0.1,", "--grid 'optimizer.lr=0.1,': empty value"),
    ("optimizer.lr=0.1,0.1", "--grid 'optimizer.lr=0.1,0.1': a value is listed twice"),
    ("seeds=[1]", "--grid 'seeds=[1]': the sweep sets 'seeds' itself (use --seeds N for seeds)"),
    ("name=x", "--grid 'name=x': the sweep sets 'name' itself"),
])
def test_a_malformed_axis_is_a_one_line_error(text, message):
    with pytest.raises(UserError) as error:
        parse_axis(text)
    assert str(error.value).startswith(message)
    assert "\n" not in str(error.value)



def test_options_default_to_one_cpu_per_trial_on_the_local_pool():
    options = SweepOptions("run.toml", seeds=3)
    assert (options.backend, options.cpus_per_trial, options.gpus_per_trial, options.workers,
            options.address) == ("local", 1.0, 0.0, None, None)


def test_a_trial_is_named_after_its_point_and_seed():
    point = Point((("arms.sgd.optimizer.lr", "0.05"),))
    assert point.trial_name(2) == "arms.sgd.optimizer.lr-0.05-seed-2"
