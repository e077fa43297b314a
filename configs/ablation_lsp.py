"""The ablation on real photographs: configs/ablation.py's model and budget on LSP-extended.

Command: python bench/ablation.py --datasets lsp --seeds 0,1,2
(LSP-extended's joints.mat + images/ in ../shared/data/lspet, or --manual_dir DIR)
Result: docs/benchmarks.md#configsablation_lsppy (the rows' PCK@0.2; docs/ablation.md).
"""

from msposejax.config_files import load_sibling

default = load_sibling(__file__)
datasets = load_sibling(__file__, "datasets")
recipes = load_sibling(__file__, "recipes")


def get_config():
  config = recipes.ablation_budget(recipes.cpu_recipe(default.get_config()))
  config = datasets.use_lsp_data(config)
  config.data.manual_dir = "../shared/data/lspet"
  return config
