"""The ablation's base: the CPU model (MSS + MSR, structure-aware loss) on a short budget,
evaluated on the hard synthetic split (1000 people: small/large, occluded, crowded).

Command: python bench/ablation.py --seeds 0,1,2
(trains the five rows, hourglass → +MSS → +MSR → +SA loss → +keypoint masking, as small
deltas of this config; one run of it alone: msposejax train --config configs/ablation.py
--workdir runs/ablation_full)
Result: docs/benchmarks.md#configsablationpy (the rows' PCKh@0.5; docs/ablation.md has the
controls and LSP-extended).
"""

from msposejax.config_files import load_sibling

default = load_sibling(__file__)
recipes = load_sibling(__file__, "recipes")


def get_config():
  config = recipes.ablation_budget(recipes.cpu_recipe(default.get_config()))
  config.data.dataset = "synthetic_people/hard"
  return config
