"""input_size (H, W) in the config checks, the checkpoint compatibility check and describe."""

import json

import ml_collections
import pytest

from msposejax.config_checks import validate_config
from msposejax.config_files import load_config
from msposejax.describe import describe
from msposejax.config_checks import check_same_model
from tests.conftest import REPO


def tiny(input_size):
  config = load_config(REPO / "configs" / "tiny.py")  # depth 2: sides multiples of 16
  with config.ignore_type():
    config.input_size = input_size
  return config


def test_h_w_pairs_pass_when_each_side_fits_the_depth():
  validate_config(tiny((64, 48)))
  validate_config(tiny([64, 48]))  # as a saved config gives it


@pytest.mark.parametrize("size, needle", [
    ((64, 40), "config.input_size=(64, 40) must be (H, W), each a multiple of 16"),
    ((64, 48, 3), "config.input_size (64, 48, 3): expected n or (H, W)"),
    ((64, -48), "expected positive integers"),
    ("64x48", "expected n or (H, W) in integers"),
    (100, "config.input_size=100 must be a multiple of 16")])
def test_bad_input_sizes_are_one_line_errors(size, needle):
  with pytest.raises(ValueError) as e:
    validate_config(tiny(size))
  assert needle in str(e.value) and "\n" not in str(e.value)


def saved(config):
  """The config as a checkpoint gives it back: JSON, so tuples are lists."""
  return ml_collections.ConfigDict(json.loads(json.dumps(config.to_dict())))


def test_checkpoint_of_the_same_h_w_matches_and_another_does_not():
  config = tiny((64, 48))
  assert saved(config).input_size == [64, 48]
  check_same_model(saved(config), config, "runs/x")
  with pytest.raises(ValueError, match=r"input_size: checkpoint \[64, 64\] vs config \(64, 48\)"):
    check_same_model(saved(tiny((64, 64))), config, "runs/x")
  with pytest.raises(ValueError, match="input_size: checkpoint 64 vs config"):
    check_same_model(saved(tiny(64)), config, "runs/x")
  square = tiny(64)
  check_same_model(saved(square), square, "runs/x")  # square checkpoints as before
  old = saved(square)
  del old["input_size"]  # a checkpoint without the field matches nothing
  with pytest.raises(ValueError, match="input_size: checkpoint None"):
    check_same_model(old, square, "runs/x")


def test_describe_shows_h_by_w():
  info = describe(tiny((64, 48)))
  assert info["input_shape"] == [1, 64, 48, 3]
  assert info["outputs"]["stacks/1/16"] == [1, 16, 12, 16]
  assert info["outputs"]["stacks/1/8"] == [1, 8, 6, 16]
  assert info["outputs"]["final"] == [1, 16, 12, 16]
