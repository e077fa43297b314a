"""A stale or empty dataset (docs/reliability.md): images named another way, a dataset with no
examples, a prepared copy whose `manual_dir` has changed since. On a made-up LSP-extended
folder (a joints.mat of 20 people and small photos), so it runs without ../shared/data."""

import io

import numpy as np
import pytest
import scipy.io
from PIL import Image

from msposejax.data import pipeline
from tests.conftest import REPO, load_config

pytestmark = pytest.mark.xdist_group("lsp")
N = 20


def _manual(root, names=lambda i: f"im{i + 1:05d}.jpg", count=N, corrupt=False):
  """An LSP-extended manual_dir: joints.mat (14, 3, N) with every joint annotated inside a
  96×96 photo, and photos 1..count named by `names`."""
  rng = np.random.default_rng(0)
  joints = np.concatenate([rng.uniform(20, 76, (14, 2, N)), np.ones((14, 1, N))], axis=1)
  (root / "images").mkdir(parents=True)
  scipy.io.savemat(str(root / "joints.mat"), {"joints": joints})
  for i in range(count):
    buffer = io.BytesIO()
    Image.fromarray(rng.integers(0, 255, (96, 96, 3), np.uint8)).save(buffer, "JPEG")
    (root / "images" / names(i)).write_bytes(b"not a jpeg" if corrupt else buffer.getvalue())
  return root


def _config(tmp_path, manual):
  cfg = load_config(REPO / "configs" / "tiny.py")
  with cfg.unlocked():
    cfg.data.dataset = "lsp/extended"
    cfg.data.manual_dir = str(manual)
    cfg.data.tfds_data_dir = str(tmp_path / "tfds")
  return cfg


def test_images_named_another_way_are_refused_naming_the_folder_and_the_names(tmp_path):
  manual = _manual(tmp_path / "manual", names=lambda i: f"image_{i + 1:05d}.jpg")
  cfg = _config(tmp_path, manual)
  for _ in range(2):  # and preparing again does not find an empty dataset to reuse
    with pytest.raises(FileNotFoundError) as e:
      pipeline.prepare(cfg)
    assert str(e.value) == (
        f"none of the {N} images {manual / 'joints.mat'} lists is in {manual / 'images'} "
        f"(expected names like im00001.jpg, im00002.jpg); it holds {N} files, e.g. "
        "image_00001.jpg")
    assert not pipeline.builder(cfg).is_prepared()


def test_a_dataset_with_no_examples_is_refused_and_not_kept(tmp_path):
  cfg = _config(tmp_path, _manual(tmp_path / "manual", corrupt=True))  # every photo corrupt
  want = (f"lsp/extended from {tmp_path / 'manual'}: Failed to finalize writing of split "
          "\"train\": No examples were yielded. (its images are all missing, corrupt or "
          f"unlabelled: the log above counts them); nothing was prepared in {tmp_path / 'tfds'}")
  with pytest.raises(ValueError) as e:
    pipeline.prepare(cfg)
  assert str(e.value) == want                  # before: TFDS's AssertionError, a traceback
  assert not pipeline.builder(cfg).is_prepared()
  with pytest.raises(ValueError, match="No examples"):  # training's auto-prepare too
    pipeline.open_source(cfg, "train")


def test_a_changed_manual_dir_is_said_once_and_the_prepared_copy_kept(tmp_path, capsys):
  small = _manual(tmp_path / "small", count=10)        # images 1-10: 9 train, 1 validation
  pipeline.prepare(_config(tmp_path, small))
  assert len(pipeline.open_source(_config(tmp_path, small), "train")) == 9
  assert "warning" not in capsys.readouterr().err      # the same folder: nothing to say
  full = _manual(tmp_path / "full")                    # all 20
  cfg = _config(tmp_path, full)
  for _ in range(3):                                   # train, eval, a second look: said once
    source = pipeline.open_source(cfg, "train")
  assert len(source) == 9                              # the prepared copy, as it is
  err = capsys.readouterr().err
  assert err.count("warning") == 1, err
  assert (f"was prepared from {small} (11 files), but config.data.manual_dir is {full} "
          f"(21 files); using the prepared copy as it is (10 examples)") in err


def test_mpii_images_named_another_way_are_refused_too(tmp_path):
  sample = REPO / "tests" / "fixtures" / "mpii_sample"
  manual = tmp_path / "manual"
  (manual / "images").mkdir(parents=True)
  for f in sample.glob("*.jpg"):  # the same photos, renamed
    (manual / "images" / f"mpii_{f.name}").write_bytes(f.read_bytes())
  (manual / "train.json").write_text((sample / "test_mpii.json").read_text())
  cfg = _config(tmp_path, manual)
  with cfg.unlocked():
    cfg.data.dataset = "mpii_human_pose"
  with pytest.raises(FileNotFoundError, match=(
      f"none of the 5 images {manual / 'train.json'} lists is in {manual / 'images'} "
      r"\(expected names like .*\.jpg, .*\.jpg\); it holds 5 files, e.g. mpii_")):
    pipeline.prepare(cfg)
  assert not pipeline.builder(cfg).is_prepared()
