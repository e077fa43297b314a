"""The package's layers import downwards only (docs/architecture.md): parsed, not imported."""

import ast
import collections

from tests.conftest import REPO, modules_loaded_by

# Each unit (a subpackage, or a top-level module) and the units it may import. Keep in step
# with docs/architecture.md.
ALLOWED = {
    "skeleton": set(), "input_size": set(), "config_files": set(), "draw": {"skeleton"},
    "commands": set(), "codecs": {"skeleton", "input_size"}, "models": set(),
    # What we rely on of grain, orbax, TFDS and libc beyond their promises (layer 1).
    "library_internals": set(),
    "folder_lock": set(),  # one process at a time in a folder (training's workdir, predict's --out)
    "losses": {"codecs", "skeleton", "input_size"},
    "evaluation": {"codecs", "skeleton", "input_size"},
    "config_checks": {"codecs", "losses", "models", "skeleton", "input_size"},
    "data": {"codecs", "evaluation", "skeleton", "draw", "input_size", "library_internals"},
    "state": {"config_checks", "input_size", "library_internals"},
    "inference": {"state", "models", "codecs", "evaluation", "data", "skeleton", "draw",
                  "input_size", "config_checks", "folder_lock"},
    "interop": {"state", "models", "config_checks", "input_size"},
    "training": {"state", "inference", "models", "losses", "codecs", "evaluation", "data",
                 "skeleton", "draw", "config_checks", "input_size", "folder_lock",
                 "library_internals"},
    "describe": {"models", "skeleton", "input_size"}, "score_command": {"evaluation"},
    "console": {"commands", "library_internals"},  # the command line: help, filters, hooks
}
TOP = {"main"}  # the command line may import anything


def _unit(module: str) -> str:
  parts = module.split(".")
  return parts[1] if len(parts) > 1 else "msposejax"


def import_graph() -> dict[str, set[str]]:
  graph = collections.defaultdict(set)
  package = REPO / "msposejax"
  for path in package.rglob("*.py"):
    rel = path.relative_to(REPO).with_suffix("")
    module = ".".join(p for p in rel.parts if p != "__init__")
    src = _unit(module)
    for node in ast.walk(ast.parse(path.read_text())):
      if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == \
          "msposejax":
        names = ([f"msposejax.{a.name}" for a in node.names] if node.module == "msposejax"
                 else [node.module])
      elif isinstance(node, ast.Import):
        names = [a.name for a in node.names if a.name.split(".")[0] == "msposejax"]
      else:
        continue
      graph[src].update(_unit(n) for n in names if _unit(n) != src)
  return graph


def test_every_unit_imports_only_the_layers_below_it():
  graph = import_graph()
  units = {p.stem if p.is_file() else p.name for p in (REPO / "msposejax").iterdir()
           if (p.suffix == ".py" and p.stem != "__init__") or (p / "__init__.py").is_file()}
  assert units - TOP == set(ALLOWED), "a new unit needs its row in ALLOWED and the doc"
  wrong = {src: sorted(dst - ALLOWED[src]) for src, dst in graph.items()
           if src not in TOP and dst - ALLOWED[src]}
  assert not wrong, f"imports against the layers: {wrong}"


def test_the_allowed_graph_has_no_cycle():
  seen, done = set(), set()

  def visit(unit, path):
    assert unit not in seen - done, f"cycle: {' -> '.join(path + [unit])}"
    if unit in done:
      return
    seen.add(unit)
    for dst in ALLOWED[unit]:
      visit(dst, path + [unit])
    done.add(unit)

  for unit in ALLOWED:
    visit(unit, [])


def test_prediction_export_and_import_load_neither_optax_grain_tfds_nor_the_trainer():
  code = ("import msposejax.inference.predictor, msposejax.inference.predict_files\n"
          "import msposejax.inference.export, msposejax.interop.torch_import")
  assert modules_loaded_by(code, ("optax", "grain", "tensorflow_datasets", "tensorflow",
                                  "msposejax.training")) == []
