"""The PyTorch ↔ Flax name table (pure; no PyTorch needed)."""

import numpy as np
import pytest

from msposejax.interop.torch_names import StateDictMismatch, convert, strip_prefixes, torch_key


@pytest.mark.parametrize("path, key", [
    (("params", "pre_conv", "conv", "kernel"), "pre.0.conv.weight"),
    (("params", "pre_conv", "bn", "scale"), "pre.0.bn.weight"),
    (("batch_stats", "pre_conv", "bn", "var"), "pre.0.bn.running_var"),
    (("params", "pre_res1", "skip_layer", "conv", "bias"), "pre.1.skip_layer.conv.bias"),
    (("params", "pre_res2", "conv2", "conv", "kernel"), "pre.3.conv2.conv.weight"),
    (("batch_stats", "pre_res3", "bn3", "mean"), "pre.4.bn3.running_mean"),
    (("params", "stack3", "hg", "low2", "low2", "up1", "bn1", "bias"),
     "hgs.3.0.low2.low2.up1.bn1.bias"),
    (("params", "stack0", "features_res", "conv3", "conv", "kernel"),
     "features.0.0.conv3.conv.weight"),
    (("params", "stack7", "features_conv", "bn", "scale"), "features.7.1.bn.weight"),
    (("params", "stack1", "out", "conv", "bias"), "outs.1.conv.bias"),
    (("params", "stack0", "merge_preds", "conv", "kernel"), "merge_preds.0.conv.conv.weight"),
    (("params", "stack6", "merge_features", "conv", "bias"), "merge_features.6.conv.conv.bias"),
])
def test_torch_key_follows_princeton_vl_names(path, key):
  assert torch_key(path) == key


def test_strip_prefixes_of_saved_trainer():
  assert strip_prefixes({"model.module.pre.0.conv.weight": 1, "outs.0.conv.bias": 2}) == {
      "pre.0.conv.weight": 1, "outs.0.conv.bias": 2}


def _target():
  """A two-leaf model: one conv (1×1, 2→3 channels) and one BN; plus an MSS head."""
  return {"params": {"stack0": {"out": {"conv": {"kernel": np.zeros((1, 1, 2, 3)),
                                                 "bias": np.zeros(3)}},
                                "mss_head_r8": {"conv": {"kernel": np.full((1, 1, 2, 3), 7.)}}},
                     "pre_conv": {"bn": {"scale": np.zeros(4), "bias": np.zeros(4)}}},
          "batch_stats": {"pre_conv": {"bn": {"mean": np.zeros(4), "var": np.zeros(4)}}}}


def _source():
  w = np.arange(6, dtype=np.float32).reshape(3, 2, 1, 1)  # (O, I, H, W)
  return {"outs.0.conv.weight": w, "outs.0.conv.bias": np.ones(3),
          "pre.0.bn.weight": np.full(4, 2.), "pre.0.bn.bias": np.full(4, 3.),
          "pre.0.bn.running_mean": np.full(4, 4.), "pre.0.bn.running_var": np.full(4, 5.),
          "pre.0.bn.num_batches_tracked": np.array(9.)}


def test_convert_transposes_kernels_and_keeps_new_heads_fresh():
  variables, report = convert(_source(), _target())
  kernel = variables["params"]["stack0"]["out"]["conv"]["kernel"]
  # Our kernel[0, 0, i, o] is PyTorch's weight[o, i, 0, 0].
  np.testing.assert_array_equal(kernel[0, 0], np.arange(6).reshape(3, 2).T)
  assert variables["batch_stats"]["pre_conv"]["bn"]["var"][0] == 5.
  assert variables["params"]["pre_conv"]["bn"]["scale"][0] == 2.
  np.testing.assert_array_equal(variables["params"]["stack0"]["mss_head_r8"]["conv"]["kernel"], 7.)
  assert report["new"] == ["params/stack0/mss_head_r8/conv/kernel"]
  assert report["unused"] == ["pre.0.bn.num_batches_tracked"]
  assert len(report["loaded"]) == 6


def test_missing_key_is_named():
  source = _source()
  del source["pre.0.bn.running_mean"]
  with pytest.raises(StateDictMismatch, match=r"1 missing: pre\.0\.bn\.running_mean"):
    convert(source, _target())


def test_misshaped_key_is_named_with_both_shapes():
  source = _source()
  source["outs.0.conv.weight"] = np.zeros((16, 2, 1, 1))
  with pytest.raises(StateDictMismatch,
                     match=r"outs\.0\.conv\.weight: checkpoint \(16, 2, 1, 1\).*model \(1, 1, 2, 3\)"):
    convert(source, _target())


def test_unexpected_key_and_stack_count_are_named():
  source = _source()
  source["hgs.1.0.up1.bn1.weight"] = np.zeros(4)
  with pytest.raises(StateDictMismatch, match=r"unexpected: hgs\.1\.0\.up1\.bn1\.weight.*"
                                             r"checkpoint has 2 stacks, the config 1"):
    convert(source, _target())
