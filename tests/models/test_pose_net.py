"""PoseNet shapes, toggles, parameter counts against a hand formula, dtypes and input errors."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from msposejax.models import PoseNet


def shapes_of(model, size):
  images = jnp.zeros((2, size, size, 3))
  variables = jax.eval_shape(lambda: model.init(jax.random.key(0), images))
  out = jax.eval_shape(lambda v: model.apply(v, images), variables)
  return variables, out


# Independent parameter count of Newell's network (+ our heads), from the layer list.
def conv(cin, cout, k=1):
  return k * k * cin * cout + cout


def residual(cin, cout):
  m = cout // 2
  n = 2 * cin + conv(cin, m) + 2 * m + conv(m, m, 3) + 2 * m + conv(m, cout)
  return n + (conv(cin, cout) if cin != cout else 0)


def hourglass(depth, c):
  inner = hourglass(depth - 1, c) if depth > 1 else residual(c, c)
  return 3 * residual(c, c) + inner


def expected_params(stacks, c, depth, k, mss, msr):
  n = conv(3, 64, 7) + 2 * 64 + residual(64, 128) + residual(128, 128) + residual(128, c)
  for s in range(stacks):
    n += hourglass(depth, c) + residual(c, c) + conv(c, c) + 2 * c + conv(c, k)
    if s < stacks - 1:
      n += conv(k, c) + conv(c, c)
    if mss:
      n += (depth - 1) * conv(c, k)
  if msr:
    scales = depth if mss else 1
    n += conv(scales * k + c, c) + hourglass(depth, c) + residual(c, c) + conv(c, c) + 2 * c
    n += conv(c, k)
  return n


def count(tree):
  return sum(int(np.prod(x.shape)) for x in jax.tree.leaves(tree))


# Every toggle on 1 and 2 stacks; 8 stacks (the paper's size, ~10 s of tracing each) once,
# with everything on.
@pytest.mark.parametrize("stacks,mss,msr", [
    (s, mss, msr) for s in (1, 2)
    for mss, msr in ((False, False), (True, False), (False, True), (True, True))]
    + [(8, True, True)])
def test_shapes_and_parameter_count(stacks, mss, msr):
  model = PoseNet(num_stacks=stacks, features=256, depth=4, num_joints=16, mss=mss, msr=msr)
  variables, out = shapes_of(model, 256)
  assert len(out["stacks"]) == stacks
  for heatmaps in out["stacks"]:
    assert sorted(heatmaps) == ([8, 16, 32, 64] if mss else [64])
    for res, h in heatmaps.items():
      assert h.shape == (2, res, res, 16) and h.dtype == jnp.float32
  assert out["final"].shape == (2, 64, 64, 16)
  assert count(variables["params"]) == expected_params(stacks, 256, 4, 16, mss, msr)
  assert ("msr" in variables["params"]) == msr


def test_toggles_change_only_their_own_parameters():
  base, _ = shapes_of(PoseNet(num_stacks=2, features=32, mss=False, msr=False), 256)
  full, _ = shapes_of(PoseNet(num_stacks=2, features=32, mss=True, msr=True), 256)
  flat = lambda v: {jax.tree_util.keystr(p): x.shape
                    for p, x in jax.tree_util.tree_leaves_with_path(v["params"])}
  base_flat, full_flat = flat(base), flat(full)
  # Every Newell parameter exists unchanged in the full model; the extras are heads and MSR.
  assert all(full_flat[k] == s for k, s in base_flat.items())
  extra = set(full_flat) - set(base_flat)
  assert extra and all("mss_head" in k or k.startswith("['msr']") for k in extra)


def test_newell_final_is_last_stack_full_resolution_heatmap():
  model = PoseNet(num_stacks=2, features=16, depth=2, mss=False, msr=False)
  images = jax.random.uniform(jax.random.key(1), (1, 64, 64, 3))
  variables = model.init(jax.random.key(0), images)
  out = model.apply(variables, images)
  np.testing.assert_array_equal(out["final"], out["stacks"][-1][16])


def test_residual_msr_adds_its_correction_to_the_last_stack_and_has_no_new_parameters():
  images = jax.random.uniform(jax.random.key(1), (1, 64, 64, 3))
  plain = PoseNet(num_stacks=2, features=16, depth=2, msr=True)
  residual = PoseNet(num_stacks=2, features=16, depth=2, msr=True, msr_residual=True)
  variables = plain.init(jax.random.key(0), images)
  assert jax.tree.structure(residual.init(jax.random.key(0), images)) == \
      jax.tree.structure(variables)
  a, b = plain.apply(variables, images), residual.apply(variables, images)
  np.testing.assert_allclose(b["final"], a["final"] + a["stacks"][-1][16], rtol=1e-6, atol=1e-7)
  # With MSR-net's output conv at zero the residual form predicts the last stack's heatmaps.
  zeroed = jax.tree_util.tree_map_with_path(
      lambda path, x: jnp.zeros_like(x) if "'msr'" in str(path) and "'out'" in str(path) else x,
      variables)
  out = residual.apply(zeroed, images)
  np.testing.assert_array_equal(out["final"], out["stacks"][-1][16])


def test_a_model_config_from_before_msr_residual_builds_the_plain_form(tiny_config):
  from msposejax.models import pose_net_from_config
  model_config = tiny_config.model.to_dict()
  del model_config["msr_residual"]
  import ml_collections
  assert pose_net_from_config(ml_collections.ConfigDict(model_config)).msr_residual is False


def test_bfloat16_compute_keeps_float32_params_and_outputs():
  model = PoseNet(num_stacks=1, features=16, depth=2, dtype=jnp.bfloat16)
  images = jax.random.uniform(jax.random.key(1), (2, 64, 64, 3))
  variables = model.init(jax.random.key(0), images)
  assert all(x.dtype == jnp.float32 for x in jax.tree.leaves(variables))
  jaxpr = str(jax.make_jaxpr(lambda v: model.apply(v, images))(variables))
  assert "bf16" in jaxpr and "conv_general_dilated" in jaxpr
  out = model.apply(variables, images)
  assert out["final"].dtype == jnp.float32
  ref = PoseNet(num_stacks=1, features=16, depth=2).apply(variables, images)
  # Same network, lower precision: close, not equal, relative to the outputs' own scale
  # (0.02 here), so an all-zero or a wrongly scaled output fails. bfloat16 keeps 8
  # significant bits (a relative step of 2^-8 = 0.4%); through this network's ~40 layers the
  # error measured 1.1% of the largest output at most and 0.8% of the mean (2026-12-06).
  scale = np.abs(ref["final"]).max()
  assert scale > 1e-3
  error = np.abs(np.asarray(out["final"]) - np.asarray(ref["final"]))
  assert error.max() <= 0.05 * scale and error.mean() <= 0.02 * np.abs(ref["final"]).mean()
  assert np.corrcoef(np.ravel(out["final"]), np.ravel(ref["final"]))[0, 1] > 0.999


def test_remat_gives_same_outputs_and_gradients():
  images = jax.random.uniform(jax.random.key(1), (2, 64, 64, 3))
  # One stack: remat wraps each stack alike, and the op-by-op gradients of two took ~55 s
  # of the suite (cold, 2-core CI machine).
  plain = PoseNet(num_stacks=1, features=16, depth=2)
  remat = PoseNet(num_stacks=1, features=16, depth=2, remat=True)
  variables = plain.init(jax.random.key(0), images)

  def loss(params, model):
    out, _ = model.apply({**variables, "params": params}, images, train=True,
                         mutable=["batch_stats"])
    return jnp.sum(out["final"] ** 2)

  # Jitted: op by op, the two gradients took 47 s of the suite (2-core AMD EPYC VM).
  g1 = jax.jit(jax.grad(lambda p: loss(p, plain)))(variables["params"])
  g2 = jax.jit(jax.grad(lambda p: loss(p, remat)))(variables["params"])
  jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6), g1, g2)


def test_train_mode_updates_batch_stats_eval_mode_does_not():
  model = PoseNet(num_stacks=1, features=16, depth=2)
  images = jax.random.uniform(jax.random.key(1), (2, 64, 64, 3))
  variables = model.init(jax.random.key(0), images)
  out_train, updates = model.apply(variables, images, train=True, mutable=["batch_stats"])
  changed = jax.tree.map(lambda a, b: bool(jnp.any(a != b)), variables["batch_stats"],
                         updates["batch_stats"])
  assert all(jax.tree.leaves(changed))
  out_eval, kept = model.apply(variables, images, train=False, mutable=["batch_stats"])
  jax.tree.map(np.testing.assert_array_equal, kept["batch_stats"], variables["batch_stats"])
  # Eval mode normalises with the running statistics: an image's heatmaps do not depend on
  # the batch it came in; train mode's batch statistics do.
  alone = model.apply(variables, images[:1], train=False)["final"]
  np.testing.assert_allclose(alone, out_eval["final"][:1], rtol=1e-5, atol=1e-6)
  alone_train, _ = model.apply(variables, images[:1], train=True, mutable=["batch_stats"])
  assert not np.allclose(alone_train["final"], out_train["final"][:1], atol=1e-4)


@pytest.mark.parametrize("shape,dtype,message", [
    ((2, 64, 64), jnp.float32, "(B, H, W, 3)"),
    ((2, 64, 64, 1), jnp.float32, "(B, H, W, 3)"),
    ((2, 60, 64, 3), jnp.float32, "divisible by 16"),
    ((2, 64, 64, 3), jnp.uint8, "float images"),
])
def test_bad_input_gets_clear_error(shape, dtype, message):
  model = PoseNet(num_stacks=1, features=16, depth=2)
  with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
    model.init(jax.random.key(0), jnp.zeros(shape, dtype))
