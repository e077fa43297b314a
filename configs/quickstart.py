"""CPU quickstart: a small MSS + MSR model on synthetic people, trained and evaluated.

Command: msposejax train --config configs/quickstart.py --workdir runs/quickstart
(the README's main job)
Result: docs/benchmarks.md#configsquickstartpy (time end to end, PCKh@0.5, machine, date).
"""

from msposejax.config_files import load_sibling

default = load_sibling(__file__)
recipes = load_sibling(__file__, "recipes")


def get_config():
  config = recipes.cpu_recipe(default.get_config())
  config.total_steps = 1650
  config.log_every = 50
  config.eval_every = 0                  # evaluate once, at the end, on all 500 people
  config.checkpoint.every = 200
  return config
