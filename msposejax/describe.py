"""`msposejax describe`: size, cost and output shapes of the model a config builds;
`msposejax config show`: the config itself, every field resolved."""

from __future__ import annotations

import json
from typing import Any

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import yaml

from msposejax import skeleton
from msposejax.input_size import input_hw
from msposejax.models import pose_net_from_config


def count_parameters(tree: Any) -> int:
  return int(sum(np.prod(x.shape) for x in jax.tree.leaves(tree)))


def _flops(compiled_or_lowered) -> float:
  cost = compiled_or_lowered.cost_analysis()
  if isinstance(cost, (list, tuple)):  # older JAX returns one dict per computation
    cost = cost[0]
  return float(cost.get("flops", float("nan")))


def describe(config: ml_collections.ConfigDict) -> dict[str, Any]:
  """Parameter counts, GFLOPs per image (XLA cost analysis, eval mode) and output shapes.

  XLA counts a multiply-add as 2 FLOPs; `gmacs_per_image` is half of it, the unit most pose
  papers call "GFLOPs".
  """
  model = pose_net_from_config(config.model)
  h, w = input_hw(config)
  images = jax.ShapeDtypeStruct((1, h, w, 3), jnp.float32)
  variables = jax.eval_shape(lambda: model.init(jax.random.key(0), jnp.zeros(images.shape)))
  apply = jax.jit(lambda v, x: model.apply(v, x, train=False))
  outputs = jax.eval_shape(apply, variables, images)
  flops = _flops(apply.lower(variables, images).compile())
  params = variables["params"]
  by_part: dict[str, int] = {}
  for name, sub in params.items():
    part = "stacks" if name.startswith("stack") else "msr" if name == "msr" else "stem"
    by_part[part] = by_part.get(part, 0) + count_parameters(sub)
  shapes = {}
  for s, heatmaps in enumerate(outputs["stacks"]):
    for res, x in heatmaps.items():
      shapes[f"stacks/{s}/{res}"] = list(x.shape)
  shapes["final"] = list(outputs["final"].shape)
  skel = skeleton.from_config(config)
  return {
      "skeleton": {"name": skel.name, "joints": list(skel.joint_names),
                   "metric": skel.headline_label},
      "parameters": count_parameters(params),
      "parameters_by_part": by_part,
      "batch_stats": count_parameters(variables.get("batch_stats", {})),
      "gflops_per_image": round(flops / 1e9, 3),
      "gmacs_per_image": round(flops / 2e9, 3),
      "input_shape": list(images.shape),
      "outputs": shapes,
  }


def run_command(command: tuple[str, ...], config: ml_collections.ConfigDict, args: Any) -> None:
  """`describe`: the JSON of `describe`; `config show`: `config_yaml`."""
  del args  # neither takes a flag besides --config
  if command == ("describe",):
    print(json.dumps(describe(config), indent=1))
  else:
    print(config_yaml(config), end="")


def config_yaml(config: ml_collections.ConfigDict) -> str:
  """Every field of `config` as YAML, one a line, in the order the config files define them;
  references resolved, tuples written [a, b] (what mmpose's print_config shows)."""
  dumper = type("Dumper", (yaml.SafeDumper,), {})
  dumper.add_representer(list, lambda d, v: d.represent_sequence("tag:yaml.org,2002:seq", v,
                                                                 flow_style=True))
  return yaml.dump(json.loads(config.to_json()), Dumper=dumper, sort_keys=False,
                   allow_unicode=True)
