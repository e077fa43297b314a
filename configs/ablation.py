"""The ablation's base: the quickstart model (MSS + MSR, structure-aware loss) on a short budget,
evaluated on the hard synthetic split (1000 people: small/large, occluded, crowded).

Command: python bench/ablation.py --seeds 0,1,2
(trains the five rows, hourglass → +MSS → +MSR → +SA loss → +keypoint masking, as small
deltas of this config; one run of it alone: msposejax train --config configs/ablation.py
--workdir runs/ablation_full)
Result (T = 300 steps per row, seeds 0-2, 2026-12-02; both datasets in 93 min on the 2-core
CPU): PCKh@0.5 on the hard synthetic split, hourglass 49.6, +MSS 47.0, +MSR 47.5, +SA loss
46.7, +kpmask 46.7 (docs/ablation.md, with the controls and LSP-extended).
"""

from msposejax.config_files import load_sibling


def get_config():
  config = load_sibling(__file__, "quickstart").get_config()
  config.data.dataset = "synthetic_people/hard"
  config.model.features = 32          # 1.5× the examples/s of 48 on the 2-core CPU
  config.total_steps = 300
  config.checkpoint.every = 100
  config.num_visualize = 0
  return config
