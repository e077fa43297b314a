"""`msposejax score` on predictions with NaN or infinite joints: counted, said, and scored as
misses; against the 200 real validation people kept in tests/fixtures (no shared data)."""

import json
import pathlib

import numpy as np
import pytest
import scipy.io

from msposejax import score_command

pytestmark = pytest.mark.xdist_group("mpii_protocol")
SUBSET = pathlib.Path(__file__).resolve().parents[1] / "fixtures" / "mpii_val_subset" / \
    "detections_our_format.mat"


@pytest.fixture(scope="module")
def official():
  d = scipy.io.loadmat(str(SUBSET))
  gt = np.transpose(d["pos_gt_src"], [2, 0, 1]).astype(np.float64)  # (N, 16, 2), 1-based
  return gt, d["jnt_missing"].T.astype(bool)                          # (N, 16)


def _write(path, preds_nk2):
  scipy.io.savemat(str(path), {"pos_pred_src": np.transpose(preds_nk2, [1, 2, 0])})
  return str(path)


def test_nan_and_inf_joints_are_counted_and_scored_as_misses(official, tmp_path, capsys):
  gt, missing = official
  pred = gt + 1.0                      # 1.4 px off: within 0.5 h of every labelled joint
  rng = np.random.default_rng(0)
  bad = np.zeros(missing.shape, bool)
  bad.flat[rng.choice(bad.size, 100, replace=False)] = True
  pred[bad] = np.nan
  pred[np.argwhere(bad)[:5, 0], np.argwhere(bad)[:5, 1], 1] = np.inf  # some inf instead
  labelled = ~missing
  kept = [j for j in range(16) if j not in (6, 7)]  # the Mean leaves out pelvis and thorax
  want_mean = (labelled & ~bad)[:, kept].sum() / labelled[:, kept].sum()
  assert score_command.run(_write(tmp_path / "p.mat", pred), str(SUBSET),
                           str(tmp_path / "r.json")) == 0
  out = capsys.readouterr().out
  report = json.loads((tmp_path / "r.json").read_text())
  assert report["nonfinite_joints"] == {"joints": 100, "labelled": int((bad & labelled).sum())}
  assert f"100 predicted joints are not finite (NaN or inf); the {(bad & labelled).sum()} " \
         "of them on labelled joints count as misses" in out
  assert report["pckh@0.5"]["mean"] == pytest.approx(want_mean, abs=1e-12)
  assert report["mean_offset_px"] == pytest.approx([1.0, 1.0])


def test_all_nan_scores_zero_and_says_why(official, tmp_path, capsys):
  gt, missing = official
  pred = np.full_like(gt, np.nan)
  assert score_command.run(_write(tmp_path / "p.mat", pred), str(SUBSET),
                           str(tmp_path / "r.json")) == 0
  out = capsys.readouterr().out
  report = json.loads((tmp_path / "r.json").read_text(),  # strict JSON: no NaN in it
                      parse_constant=lambda c: pytest.fail(f"{c} in the JSON"))
  assert report["nonfinite_joints"] == {"joints": gt.shape[0] * 16,
                                        "labelled": int((~missing).sum())}
  assert report["pckh@0.5"]["mean"] == 0.0 and report["mean_offset_px"] is None
  assert "(+nan, +nan)" not in out and "no joint is within 0.5 h" in out


def test_finite_predictions_say_nothing(official, tmp_path, capsys):
  gt, _ = official
  assert score_command.run(_write(tmp_path / "p.mat", gt), str(SUBSET)) == 0
  assert "not finite" not in capsys.readouterr().out
