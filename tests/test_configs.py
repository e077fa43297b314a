"""Every config file loads, validates, is locked against typos and documents its command."""

import ast

import pytest

from msposejax.config_checks import validate_config
from msposejax.config_files import load_config
from tests.conftest import REPO

# Modules of shared pieces (functions of a config), not configs: variants call them.
SHARED = ("datasets", "recipes")
CONFIGS = sorted(p for p in (REPO / "configs").glob("*.py") if p.stem not in SHARED)


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.stem)
def test_config_loads_validates_and_documents_its_command(path):
  config = load_config(path)
  validate_config(config)
  assert "Command:" in path.read_text().split('"""')[1]
  with pytest.raises(AttributeError):
    config.model.num_stakcs = 2  # locked: a typo cannot add a field


def test_variants_are_deltas_of_default():
  default = load_config(REPO / "configs" / "default.py")
  full = load_config(REPO / "configs" / "mss8_msr.py")
  assert full.to_dict() == default.to_dict()
  plain = load_config(REPO / "configs" / "hourglass8.py")
  assert (plain.model.mss, plain.model.msr, plain.loss.intermediate) == (False, False, "mse")
  stage2 = load_config(REPO / "configs" / "msr8_mpii.py")
  stage3 = load_config(REPO / "configs" / "msr8_mpii_kpmask.py")
  assert stage2.model.msr and stage2.init_from and stage2.data.dataset == "mpii_human_pose"
  assert stage2.model.msr_residual and stage3.model.msr_residual and not default.model.msr_residual
  assert stage3.data.mask.prob > 0 and stage3.init_from == "runs/msr8_mpii"


def loaded_siblings(path) -> list[str]:
  """The names every `load_sibling(__file__[, name])` call in a config file loads."""
  names = []
  for node in ast.walk(ast.parse(path.read_text())):
    if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "load_sibling":
      name = node.args[1] if len(node.args) > 1 else None
      assert name is None or isinstance(name, ast.Constant), f"{path.name}: a computed name"
      names.append("default" if name is None else name.value)
  return names


def test_no_variant_loads_another_variant():
  """#26: a variant is default.py plus the shared pieces, readable without a chain of
  siblings (ablation_lsp once loaded ablation, which loaded quickstart, which loaded default)."""
  assert [p.stem for p in CONFIGS if p.stem in SHARED] == []
  for stem in SHARED:
    path = REPO / "configs" / f"{stem}.py"
    assert loaded_siblings(path) == [] and "def get_config" not in path.read_text(), stem
  for path in CONFIGS:
    assert set(loaded_siblings(path)) <= {"default", *SHARED}, path.name
    if path.stem != "default":
      assert "default" in loaded_siblings(path), path.name


def test_shared_pieces_are_each_used_by_several_variants():
  """A piece that only one variant calls belongs in that variant (use_coco_recipe and
  use_coco_data: both COCO configs; newell_hourglass: four baselines; ...)."""
  calls: dict[str, set[str]] = {}
  for path in CONFIGS:
    for node in ast.walk(ast.parse(path.read_text())):
      if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
          and getattr(node.func.value, "id", None) in SHARED):
        calls.setdefault(node.func.attr, set()).add(path.stem)
  for stem in SHARED:
    module = ast.parse((REPO / "configs" / f"{stem}.py").read_text())
    for function in (n.name for n in module.body if isinstance(n, ast.FunctionDef)):
      assert len(calls.get(function, ())) >= 2, f"{stem}.{function}: {calls.get(function)}"


def test_bad_choice_values_are_rejected():
  config = load_config(REPO / "configs" / "tiny.py")
  config.loss.intermediate = "l1"
  with pytest.raises(ValueError, match="loss.intermediate"):
    validate_config(config)


def test_joint_count_that_disagrees_with_the_dataset_is_one_line(tmp_path):
  """`--config.model.num_joints=16` on an LSP config: one line naming both counts."""
  import subprocess
  import sys
  proc = subprocess.run([sys.executable, "-m", "msposejax.main", "describe", "--config",
                         str(REPO / "configs" / "lsp_cpu.py"), "--config.model.num_joints=16"],
                        cwd=REPO, capture_output=True, text=True, timeout=300)
  assert proc.returncode != 0
  assert proc.stderr.strip().splitlines() == [
      "msposejax: bad command line or config: config.model.num_joints=16 but dataset "
      "'lsp/extended' has the LSP skeleton of 14 joints"]
