"""Pure mapping between princeton-vl's PyTorch state dict and our Flax variables.

Our modules carry the reference's inner names (`up1`, `low2`, `bn1`, `conv1/conv`, ...); only
the outer containers differ:

  ours                          PyTorch
  pre_conv, pre_res1..3         pre.0, pre.1, pre.3, pre.4   (pre.2 is the max pool)
  stack{i}/hg                   hgs.{i}.0
  stack{i}/features_res         features.{i}.0
  stack{i}/features_conv        features.{i}.1
  stack{i}/out                  outs.{i}
  stack{i}/merge_features       merge_features.{i}.conv
  stack{i}/merge_preds          merge_preds.{i}.conv

and the leaves: conv kernel (H, W, I, O) ← weight (O, I, H, W); BN scale/bias ← weight/bias;
BN mean/var (batch_stats) ← running_mean/running_var. Our MSS heads and MSR-net have no
counterpart: they keep their fresh initialisation and are reported as new.
"""

from __future__ import annotations

import re
from typing import Any, Mapping

import flax.traverse_util
import numpy as np

_TOP = {"pre_conv": "pre.0", "pre_res1": "pre.1", "pre_res2": "pre.3", "pre_res3": "pre.4"}
_STACK = {"hg": "hgs.{i}.0", "features_res": "features.{i}.0",
          "features_conv": "features.{i}.1", "out": "outs.{i}",
          "merge_features": "merge_features.{i}.conv", "merge_preds": "merge_preds.{i}.conv"}
_LEAF = {("params", "kernel"): "weight", ("params", "scale"): "weight",
         ("params", "bias"): "bias", ("batch_stats", "mean"): "running_mean",
         ("batch_stats", "var"): "running_var"}
# Keys the reference carries that no computation uses: BatchNorm's step counter, and the
# `skip_layer` every Residual builds but uses only when the channel count changes.
_UNUSED = re.compile(r"(^|\.)num_batches_tracked$|(^|\.)skip_layer\.conv\.(weight|bias)$")
_PREFIXES = ("model.", "module.")  # princeton-vl saves Trainer(DataParallel(PoseNet))


class StateDictMismatch(ValueError):
  """A state dict that does not fit the configured model (names the keys)."""


def is_new(path: tuple[str, ...]) -> bool:
  """Our parameters without a PyTorch counterpart: MSS heads and the MSR-net."""
  return path[1] == "msr" or (len(path) > 2 and path[2].startswith("mss_head_r"))


def torch_key(path: tuple[str, ...]) -> str:
  """("params", "stack1", "hg", "low2", "up1", "bn1", "scale") → "hgs.1.0.low2.up1.bn1.weight"."""
  collection, top, *inner, leaf = path
  if top in _TOP:
    outer = _TOP[top]
  else:
    match = re.fullmatch(r"stack(\d+)", top)
    if not match or not inner or inner[0] not in _STACK:
      raise KeyError(f"no PyTorch counterpart for {'/'.join(path)}")
    outer = _STACK[inner[0]].format(i=match.group(1))
    inner = inner[1:]
  return ".".join([outer, *inner, _LEAF[(collection, leaf)]])


def strip_prefixes(state_dict: Mapping[str, Any]) -> dict[str, Any]:
  """Removes the `model.` / `module.` wrappers of princeton-vl's saved checkpoints."""
  out = {}
  for key, value in state_dict.items():
    while key.startswith(_PREFIXES):
      key = key.split(".", 1)[1]
    out[key] = value
  return out


def _to_ours(value: np.ndarray, leaf: str) -> np.ndarray:
  return np.transpose(value, (2, 3, 1, 0)) if leaf == "kernel" else value


def _num_stacks(names, pattern: str) -> int:
  found = {int(m.group(1)) for k in names if (m := re.match(pattern, k))}
  return max(found) + 1 if found else 0


def convert(state_dict: Mapping[str, np.ndarray], target: dict[str, Any]
            ) -> tuple[dict[str, Any], dict[str, list[str]]]:
  """Fills our variables from a PyTorch state dict.

  Args:
    state_dict: name → array (NumPy), princeton-vl names, prefixes allowed.
    target: {"params": ..., "batch_stats": ...} of the configured model (shapes, and the
      fresh values kept for new parameters).

  Returns:
    (variables, report) with report lists "loaded" (our paths), "new" (our paths kept
    fresh) and "unused" (PyTorch keys no computation uses).

  Raises:
    StateDictMismatch: naming every missing key, misshaped key (both shapes) or key the
      model has no place for.
  """
  source = strip_prefixes(state_dict)
  flat = flax.traverse_util.flatten_dict(target)
  missing, misshaped, loaded, new, used = [], [], [], [], set()
  for path, fresh in flat.items():
    if is_new(path):
      new.append("/".join(path))
      continue
    key = torch_key(path)
    if key not in source:
      missing.append(f"{key} (for {'/'.join(path)})")
      continue
    value = _to_ours(np.asarray(source[key], dtype=np.float32), path[-1])
    if value.shape != tuple(fresh.shape):
      misshaped.append(f"{key}: checkpoint {tuple(np.shape(source[key]))} -> {value.shape}, "
                       f"model {tuple(fresh.shape)}")
      continue
    flat[path] = value
    used.add(key)
    loaded.append("/".join(path))
  unused = sorted(k for k in source if k not in used and _UNUSED.search(k))
  unexpected = sorted(k for k in source if k not in used and not _UNUSED.search(k))
  problems = []
  if missing:
    problems.append(f"{len(missing)} missing: {', '.join(missing[:8])}"
                    + (", ..." if len(missing) > 8 else ""))
  if misshaped:
    problems.append(f"{len(misshaped)} misshaped: {'; '.join(misshaped[:8])}"
                    + ("; ..." if len(misshaped) > 8 else ""))
  if unexpected:
    problems.append(f"{len(unexpected)} unexpected: {', '.join(unexpected[:8])}"
                    + (", ..." if len(unexpected) > 8 else ""))
  if problems:
    ours = _num_stacks((p[1] for p in flat), r"stack(\d+)$")
    theirs = _num_stacks(source, r"(?:hgs|outs)\.(\d+)\.")
    hint = (f" The checkpoint has {theirs} stacks, the config {ours}." if theirs != ours
            else "")
    raise StateDictMismatch("the PyTorch state dict does not fit the configured model: "
                            + "; ".join(problems) + "." + hint)
  return (flax.traverse_util.unflatten_dict(flat),
          {"loaded": loaded, "new": new, "unused": unused})
