"""The ablation on real photographs: configs/ablation.py's model and budget on LSP-extended.

Command: python bench/ablation.py --datasets lsp --seeds 0,1,2
(LSP-extended's joints.mat + images/ in ../shared/data/lspet, or --manual_dir DIR)
Result: docs/ablation.md (PCK@0.2 with the torso on the LSP-extended validation people).
"""

from msposejax.config_files import load_sibling


def get_config():
  config = load_sibling(__file__, "lsp_cpu").use_lsp_data(
      load_sibling(__file__, "ablation").get_config())
  config.data.manual_dir = "../shared/data/lspet"
  return config
