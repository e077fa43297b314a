"""Old checkpoints still load: the model's variable paths and shapes are those checkpoints hold.

A Flax checkpoint stores every array under its module path (`params/stack0/mss_head_r8/conv/
kernel`); renaming a Python file or class is free, renaming a module's `name=` is not. The
reference is the tree recorded from the code before models/mss_net.py was renamed
(tests/fixtures/tiny_param_tree.txt), not the current code's output.
"""

import flax
import jax
import jax.numpy as jnp

from msposejax.config_files import load_config
from msposejax.models import pose_net_from_config
from tests.conftest import REPO

FIXTURE = REPO / "tests" / "fixtures" / "tiny_param_tree.txt"


def recorded_tree() -> dict[str, str]:
  rows = [line.split(" ") for line in FIXTURE.read_text().splitlines()
          if line and not line.startswith("#")]
  return {path: shape for path, shape in rows}


def test_tiny_model_has_the_variable_paths_and_shapes_of_old_checkpoints():
  config = load_config(REPO / "configs" / "tiny.py")
  model = pose_net_from_config(config.model)
  variables = jax.eval_shape(lambda: model.init(jax.random.key(0), jnp.zeros((1, 64, 64, 3))))
  flat = flax.traverse_util.flatten_dict(flax.core.unfreeze(variables))
  now = {"/".join(path): "x".join(map(str, leaf.shape)) for path, leaf in flat.items()}
  recorded = recorded_tree()
  assert len(recorded) == 530  # the fixture is whole (2 stacks, MSS heads at 16 and 8, MSR-net)
  assert sorted(set(now) - set(recorded)) == [], "variables old checkpoints do not have"
  assert sorted(set(recorded) - set(now)) == [], "variables of old checkpoints no longer built"
  assert {p: s for p, s in now.items() if recorded[p] != s} == {}
