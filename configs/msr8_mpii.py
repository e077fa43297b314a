"""Stage 2: add MSR-net, start from the stage-1 MSS checkpoint, structure-aware loss throughout.

Command: msposejax train --config configs/msr8_mpii.py --workdir runs/msr8_mpii \
           --config.data.manual_dir=/path/to/mpii --config.init_from=runs/mss8_mpii
The MSS part is loaded from init_from (its best checkpoint); MSR-net starts fresh; the run
prints which arrays were loaded and which are new.
Result: not yet trained by us (the paper: 88.1 with MSR, 88.3 with the structure-aware loss).
2026-12-01: MSR-net is residual (final = last stack's heatmaps + its correction), so the stage
starts from what stage 1 predicts: in docs/ablation.md it beat the plain MSR-net in every seed
on LSP-extended and synthetic people. The data stream continues after stage 1's examples
(data.stream_start = -1). The structure-aware loss stays as in the paper: the CPU ablation
cannot resolve its 0.2-point claim.
"""

from msposejax.config_files import load_sibling


def get_config():
  default = load_sibling(__file__)
  config = default.use_mpii_data(default.get_config())
  config.init_from = "runs/mss8_mpii"
  config.model.msr_residual = True
  config.total_steps = 100_000
  config.optimizer.decay_steps = (60_000, 85_000)
  return config
