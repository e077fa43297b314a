"""MPII validation files for `msposejax score`: ground truth, predictions, submissions (IO).

Everything is returned in MATLAB's 1-based frame, the frame of the official files. Index
bases, measured on the standard validation split (../shared/data/mpii_val, docs/data.md):

- `detections_our_format.mat` (`pos_gt_src`, `jnt_missing`, `headboxes_src`): 1-based.
- the hourglass community's `valid.h5` `part`: the same 1-based coordinates truncated to
  integers (within 1 px of `pos_gt_src` on 44,227 of the 44,240 labelled joints; the other
  13 are joints the official file counts with a 0 coordinate); `normalize` equals the
  official 0.6 × head-box diagonal (relative difference < 1e-6); (0, 0) marks a missing
  joint, exactly the official `jnt_missing`. Its `visible` is MPII's occlusion flag, unused.
- hourglass `.h5` `preds` and `.mat` `preds`/`pos_pred_src`: 1-based. For the 8-stack
  hourglass, pred − gt regressed on person scale has intercept (+0.15, −0.37) px (a 0-based
  file would give about (−1, −1)); the remaining bias grows with person size (heatmap
  quantisation), which is why the base is fixed per format and not guessed per file.
- our JSON (`msposejax predict`, or {"preds": (N, 16, 2)}): 0-based unless it says
  "index_base": 1.

Shape legend: N people, K = 16 joints in MPII order, 2 = (x, y).
"""

from __future__ import annotations

import dataclasses
import json
import pathlib

import numpy as np

from msposejax.evaluation.mpii_protocol import JOINT_NAMES, K, head_sizes

# `dataset_joints` of the official file, in MPII order.
OFFICIAL_JOINT_NAMES: tuple[str, ...] = (
    "rank", "rkne", "rhip", "lhip", "lkne", "lank", "pelv", "thor", "neck", "head",
    "rwri", "relb", "rsho", "lsho", "lelb", "lwri")


@dataclasses.dataclass(frozen=True)
class GroundTruth:
  """The people predictions are scored against, 1-based."""
  path: str
  joints: np.ndarray       # (N, K, 2)
  missing: np.ndarray      # (N, K) bool: the joint does not count
  head_size: np.ndarray    # (N,) h = 0.6 × head-box diagonal
  image_names: tuple[str, ...] | None  # (N,) when the file has them (valid.h5)


def _h5py():
  try:
    import h5py  # pylint: disable=g-import-not-at-top  (deferred: only .h5 files need it)
  except ImportError as e:
    raise ImportError("reading .h5 files needs h5py: pip install h5py") from e
  return h5py


def _read(path: str | pathlib.Path) -> dict[str, np.ndarray]:
  """All top-level arrays of a .mat or .h5 file."""
  path = pathlib.Path(path)
  if not path.is_file():
    raise FileNotFoundError(f"{path}: no such file")
  suffix = path.suffix.lower()
  import scipy.io  # pylint: disable=g-import-not-at-top  (jax already depends on scipy)
  # A foreign or truncated file surfaces as any of these from scipy or h5py.
  unreadable = (OSError, ValueError, TypeError, IndexError, KeyError, NotImplementedError,
                scipy.io.matlab.MatReadError)
  try:
    if suffix == ".mat":
      return {k: v for k, v in scipy.io.loadmat(str(path)).items() if not k.startswith("__")}
    if suffix in (".h5", ".hdf5"):
      with _h5py().File(path, "r") as f:
        return {k: f[k][()] for k in f if not hasattr(f[k], "keys")}
  except unreadable as e:
    raise ValueError(f"{path}: cannot read it as {suffix[1:]} ({e})") from e
  raise ValueError(f"{path}: expected a .mat, .h5 or .json file")


def _need(arrays: dict, keys: tuple[str, ...], path, what: str) -> None:
  if not all(k in arrays for k in keys):
    raise ValueError(f"{path}: not {what} (needs {', '.join(keys)}; has "
                     f"{', '.join(sorted(arrays)) or 'nothing'})")


def _layout(array, layout: str, n: int | None, path, key: str) -> np.ndarray:
  """`array` in layout "NK2" or "K2N" (MATLAB) → (N, K, 2), or a one-line ValueError.

  n None: taken from the array (the N axis of its layout, or of the other one when the
  array is plainly in that one, so the error can say "transposed").
  """
  a = np.asarray(array, np.float64)
  layouts = {"NK2": lambda m: (m, K, 2), "K2N": lambda m: (K, 2, m)}
  other = "K2N" if layout == "NK2" else "NK2"
  if n is None and a.ndim == 3:
    n = a.shape[-1] if a.shape[:2] == (K, 2) else a.shape[0]
  want, flipped = layouts[layout](n), layouts[other](n)
  if a.shape == want:
    return a if layout == "NK2" else a.transpose(2, 0, 1)
  names = {"NK2": "(N, 16, 2)", "K2N": "(16, 2, N), the MATLAB layout"}
  if a.shape == flipped:
    hint = f": it looks transposed, {names[other]} instead of {names[layout]}"
  elif sorted(a.shape) == sorted(want):
    hint = f": the axes are in another order, expected {names[layout]}"
  else:
    hint = f": expected {names[layout]} with the 16 MPII joints"
  raise ValueError(f"{path}: {key} has shape {a.shape}, expected {want} for N = {n} "
                   f"people{hint}")


def _to_mpii_order(names, path) -> list[int] | None:
  """Column permutation putting a file with these joint names in MPII order (None: it is)."""
  names = [str(np.asarray(x).ravel()[0]) if not isinstance(x, str) else x for x in names]
  for ours in (OFFICIAL_JOINT_NAMES, JOINT_NAMES):
    if sorted(names) == sorted(ours):
      return None if tuple(names) == ours else [names.index(j) for j in ours]
  raise ValueError(f"{path}: unknown joint names {names}; expected the MPII joints "
                   f"{list(JOINT_NAMES)}")


def read_ground_truth(path: str | pathlib.Path) -> GroundTruth:
  """The official `detections_our_format.mat` or the hourglass `valid.h5`."""
  arrays = _read(path)
  if pathlib.Path(path).suffix.lower() == ".mat":
    _need(arrays, ("pos_gt_src", "jnt_missing", "headboxes_src"), path,
          "an official MPII evaluation file")
    joints = _layout(arrays["pos_gt_src"], "K2N", None, path, "pos_gt_src")
    n = joints.shape[0]
    missing = np.asarray(arrays["jnt_missing"])
    boxes = np.asarray(arrays["headboxes_src"], np.float64)
    if missing.shape != (K, n) or boxes.shape != (2, 2, n):
      raise ValueError(f"{path}: jnt_missing {missing.shape} and headboxes_src {boxes.shape} "
                       f"must be (16, {n}) and (2, 2, {n}) for pos_gt_src's {n} people")
    missing = missing.T.astype(bool)
    perm = (_to_mpii_order(np.asarray(arrays["dataset_joints"]).ravel(), path)
            if "dataset_joints" in arrays else None)
    if perm is not None:
      joints, missing = joints[:, perm], missing[:, perm]
    head = head_sizes(boxes.transpose(2, 0, 1))  # (corner, xy, N) → (N, corner, xy)
    return GroundTruth(str(path), joints, missing, head, None)
  _need(arrays, ("part", "normalize"), path, "an hourglass valid.h5 annotation file")
  joints = _layout(arrays["part"], "NK2", None, path, "part")
  n = joints.shape[0]
  head = np.asarray(arrays["normalize"], np.float64).reshape(-1)
  if head.shape != (n,):
    raise ValueError(f"{path}: normalize has {head.size} values for {n} people")
  names = None
  if "imgname" in arrays:
    names = tuple(x.decode() if isinstance(x, bytes) else str(x) for x in arrays["imgname"])
  return GroundTruth(str(path), joints, (joints == 0).all(axis=2), head, names)


def read_predictions(path: str | pathlib.Path, gt: GroundTruth) -> np.ndarray:
  """(N, K, 2) 1-based predictions for gt's people, from .h5 `preds` (N, 16, 2), .mat
  `pos_pred_src` (16, 2, N) or `preds` (N, 16, 2), or our JSON (0-based)."""
  n, suffix = gt.joints.shape[0], pathlib.Path(path).suffix.lower()
  if suffix == ".json":
    return _json_predictions(path, gt)
  arrays = _read(path)
  if suffix == ".mat" and "pos_pred_src" in arrays:
    return _layout(arrays["pos_pred_src"], "K2N", n, path, "pos_pred_src")
  _need(arrays, ("preds",), path, "a predictions file")
  return _layout(arrays["preds"], "NK2", n, path, "preds")


def _json_predictions(path, gt: GroundTruth) -> np.ndarray:
  try:
    doc = json.loads(pathlib.Path(path).read_text())
  except FileNotFoundError:
    raise FileNotFoundError(f"{path}: no such file") from None
  except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
    raise ValueError(f"{path}: cannot read it as JSON ({e})") from e
  meta = doc if isinstance(doc, dict) else {}
  if "images" in meta:
    preds = _layout(_match_by_image(meta["images"], gt, path), "NK2", gt.joints.shape[0],
                    path, "keypoints")
  elif "preds" in meta or isinstance(doc, list):
    try:
      flat = np.asarray(meta["preds"] if meta else doc, np.float64)
    except (TypeError, ValueError) as e:
      raise ValueError(f"{path}: preds is not an (N, 16, 2) array ({e})") from e
    preds = _layout(flat, "NK2", gt.joints.shape[0], path, "preds")
  else:
    raise ValueError(f"{path}: expected `msposejax predict` output ({{\"images\": ...}}) or "
                     f"{{\"preds\": (N, 16, 2)}}")
  perm = _to_mpii_order(meta["joint_names"], path) if "joint_names" in meta else None
  if perm is not None:
    preds = preds[:, perm]
  base = meta.get("index_base", 0)
  if base not in (0, 1):
    raise ValueError(f"{path}: index_base must be 0 or 1, got {base!r}")
  return preds + (1 - base)  # our coordinates are 0-based, the official frame 1-based


def _match_by_image(images: dict, gt: GroundTruth, path) -> list:
  """The k-th entry of an image is the k-th person of that image in gt (extra images are
  ignored: a prediction run over all MPII images is fine)."""
  if gt.image_names is None:
    raise ValueError(f"{path} lists predictions by image, but {gt.path} has no image names: "
                     f"score it against valid.h5")
  if not isinstance(images, dict):
    raise ValueError(f"{path}: \"images\" must map image names to lists of people")
  wanted: dict[str, int] = {}
  for name in gt.image_names:
    wanted[name] = wanted.get(name, 0) + 1
  absent = [name for name in wanted if name not in images]
  if absent:
    raise ValueError(f"{path}: no predictions for {len(absent)} of the {len(wanted)} images "
                     f"of {gt.path} (e.g. {absent[0]})")
  for name, count in wanted.items():
    if len(images[name]) != count:
      raise ValueError(f"{path}: {name} has {len(images[name])} people, {gt.path} has {count}")
  seen: dict[str, int] = {}
  out = []
  for name in gt.image_names:
    k = seen[name] = seen.get(name, -1) + 1
    entry = images[name][k]
    out.append(entry["keypoints"] if isinstance(entry, dict) else entry)
  try:
    return np.asarray(out, np.float64)
  except (TypeError, ValueError) as e:
    raise ValueError(f"{path}: keypoints are not 16 × (x, y) per person ({e})") from e


def write_submission_mat(path: str | pathlib.Path, preds_0based: np.ndarray) -> pathlib.Path:
  """Writes `pos_pred_src` (16, 2, N), 1-based, as the official evaluation reads it.

  Args:
    path: the .mat file to write.
    preds_0based: (N, 16, 2) predictions in msposejax's 0-based original-image pixels, in
      the order of the evaluation file's people.

  Returns:
    The path written.
  """
  import scipy.io  # pylint: disable=g-import-not-at-top
  preds = _layout(preds_0based, "NK2", None, "predictions", "preds_0based")
  if not np.isfinite(preds).all():
    raise ValueError("predictions contain non-finite coordinates")
  path = pathlib.Path(path)
  scipy.io.savemat(str(path), {"pos_pred_src": (preds + 1.0).transpose(1, 2, 0)})
  return path
