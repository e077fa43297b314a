"""Initial variables: op-by-op initialisation gives a jitted `model.init`'s values (the same
bits on JAX 0.12; within one float32 ulp on JAX 0.10, where XLA fuses one multiply of the
jitted version differently)."""

import jax
import jax.numpy as jnp
import numpy as np

from msposejax.config_files import load_config
from msposejax.models import pose_net_from_config
from msposejax.state.variables import abstract_variables, init_variables
from tests.conftest import REPO


def test_init_variables_equal_a_jitted_init():
  config = load_config(REPO / "configs" / "tiny.py")
  model = pose_net_from_config(config.model)
  n = config.input_size
  ours = init_variables(model, n, seed=3)
  jitted = jax.jit(lambda k: model.init(k, jnp.zeros((1, n, n, 3), jnp.float32)))(
      jax.random.key(3))
  assert jax.tree.structure(ours) == jax.tree.structure(
      {"params": jitted["params"], "batch_stats": jitted["batch_stats"]})
  for a, b in zip(jax.tree.leaves(ours), jax.tree.leaves(jitted)):
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=2.4e-7, atol=0)  # ≤ 2 ulp
  shapes = abstract_variables(model, n)
  spec = lambda tree: [(jax.tree_util.keystr(p), a.shape, a.dtype)
                       for p, a in jax.tree_util.tree_leaves_with_path(tree)]
  assert spec(shapes) == spec(ours)
  other = init_variables(model, n, seed=4)
  kernel = lambda v: np.asarray(v["params"]["pre_conv"]["conv"]["kernel"])
  assert not np.array_equal(kernel(ours), kernel(other))  # the seed matters
