"""The ablation on real photographs: configs/ablation.py's model and budget on LSP-extended.

Command: python bench/ablation.py --datasets lsp --seeds 0,1,2
(LSP-extended's joints.mat + images/ in ../shared/data/lspet, or --manual_dir DIR)
Result (T = 300, seeds 0-2, 2026-12-02): PCK@0.2 (torso) on the LSP-extended validation
people, hourglass 14.1, +MSS 13.1, +MSR 13.0, +SA loss 13.1, +kpmask 12.7 (docs/ablation.md).
"""

from msposejax.config_files import load_sibling


def get_config():
  config = load_sibling(__file__).use_lsp_data(
      load_sibling(__file__, "ablation").get_config())
  config.data.manual_dir = "../shared/data/lspet"
  return config
