"""Stage 2: add MSR-net, start from the stage-1 MSS checkpoint, structure-aware loss throughout.

Command: msposejax train --config configs/msr8_mpii.py --workdir runs/msr8_mpii \
           --config.data.manual_dir=/path/to/mpii --config.init_from=runs/mss8_mpii
The MSS part is loaded from init_from (its best checkpoint); MSR-net starts fresh; the run
prints which arrays were loaded and which are new.
Result: not yet trained by us (the paper: 88.1 with MSR, 88.3 with the structure-aware loss).
MSR-net is residual (final = last stack's heatmaps + its correction, docs/method.md §2), so
the stage starts from what stage 1 predicts; why: docs/ablation.md. The data stream continues
after stage 1's examples (data.stream_start = -1). The structure-aware loss stays as in the
paper: the CPU ablation cannot resolve its 0.2-point claim (docs/ablation.md).
"""

from msposejax.config_files import load_sibling

default = load_sibling(__file__)
datasets = load_sibling(__file__, "datasets")
recipes = load_sibling(__file__, "recipes")


def get_config():
  return recipes.mpii_msr_stage(datasets.use_mpii_data(default.get_config()))
