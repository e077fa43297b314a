"""A checkpoint whose saved config and arrays disagree is refused in one line naming what
differs, not predicted with a model that silently drops arrays (issue #27, item 12)."""

import json
import shutil

import pytest

from msposejax.inference.predictor import Predictor


def _edited(tiny_run, tmp_path, edit):
  src, _ = tiny_run
  workdir = tmp_path / "w"
  shutil.copytree(src, workdir)
  meta = workdir / "checkpoints" / "4" / "config" / "metadata"
  config = json.loads(meta.read_text())
  edit(config["model"])
  meta.write_text(json.dumps(config))
  return workdir / "checkpoints" / "4"


@pytest.mark.parametrize("edit, needle", [
    # MSR-net's arrays are in the step; a config without MSR-net dropped them silently.
    (lambda m: m.update(msr=False), r"step 4 holds \d+ arrays the model has not \(.*msr/"),
    (lambda m: m.update(msr_typo=True), r"unknown fields \['msr_typo'\]"),
    (lambda m: m.pop("stem_features"), r"lacks the fields \['stem_features'\]"),
])
def test_a_config_that_disagrees_with_the_arrays_is_one_line(tiny_run, tmp_path, edit, needle):
  with pytest.raises(ValueError, match=needle) as e:
    Predictor.from_checkpoint(_edited(tiny_run, tmp_path, edit))
  assert "\n" not in str(e.value) and "step 4" in str(e.value)
