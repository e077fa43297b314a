"""Procedural people with the 16 MPII joints (pure: arrays in, arrays out, no files).

A person is an articulated, camera-facing skeleton (so the person's right side is on the
image's left, as in most MPII photos) with plausible segment proportions of a torso length L
and random joint angles, foreshortened limbs, drawn as filled shapes with random clothing and
skin colours on a cluttered background. Some images add occluders over the person and
distractor people overlapping the target. Every example is a pure function of (seed, index).
"""

from __future__ import annotations

import dataclasses

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from msposejax import skeleton


@dataclasses.dataclass(frozen=True)
class SyntheticSpec:
  """What the generator draws; fields are the knobs of a synthetic split."""
  canvas: int = 256
  torso_min: float = 22.0          # torso length L in px: person height ≈ 2.5·L
  torso_max: float = 66.0          # 3× scale range
  occluder_prob: float = 0.2
  max_occluders: int = 2
  occluder_size: tuple[float, float] = (0.3, 0.7)   # side range, × torso
  crowd_prob: float = 0.2
  max_distractors: int = 2
  crowd_distance: tuple[float, float] = (0.5, 1.3)  # pelvis-to-pelvis range, × torso


# The hard evaluation split (docs/ablation.md): 1.5× smaller and 1.2× larger people than
# training sees, most people occluded (up to 3 larger occluders) and crowded (up to 3
# distractors, closer).
HARD_SPEC = SyntheticSpec(torso_min=14.0, torso_max=80.0, occluder_prob=0.6, max_occluders=3,
                          occluder_size=(0.4, 0.9), crowd_prob=0.6, max_distractors=3,
                          crowd_distance=(0.3, 1.0))


def _rot(v: np.ndarray, deg: float) -> np.ndarray:
  t = np.deg2rad(deg)
  return np.array([np.cos(t) * v[0] - np.sin(t) * v[1], np.sin(t) * v[0] + np.cos(t) * v[1]])


def sample_pose(rng: np.random.Generator, torso: float, pelvis: np.ndarray) -> np.ndarray:
  """(16, 2) joints of a camera-facing person with torso length `torso` (y down)."""
  j = np.zeros((skeleton.NUM_JOINTS, 2))
  up = _rot(np.array([0.0, -1.0]), rng.normal(0, 12))
  side = _rot(up, 90)                      # towards the person's left = image right
  idx = skeleton.JOINT_INDEX
  j[idx["pelvis"]] = pelvis
  j[idx["thorax"]] = pelvis + up * torso
  j[idx["upper_neck"]] = j[idx["thorax"]] + _rot(up, rng.normal(0, 10)) * 0.22 * torso
  j[idx["head_top"]] = j[idx["upper_neck"]] + _rot(up, rng.normal(0, 15)) * 0.33 * torso
  width = rng.uniform(0.8, 1.1)
  for s, sign in (("r", -1.0), ("l", 1.0)):
    j[idx[f"{s}_hip"]] = pelvis + sign * side * 0.17 * torso * width
    j[idx[f"{s}_shoulder"]] = j[idx["thorax"]] + sign * side * 0.3 * torso * width
    # Legs: abduction outwards from straight down, knee bend either way, foreshortening.
    down = -up
    thigh = _rot(down, sign * rng.uniform(-15, 45)) * 0.5 * torso * rng.uniform(0.7, 1.0)
    j[idx[f"{s}_knee"]] = j[idx[f"{s}_hip"]] + thigh
    shin = _rot(thigh / np.linalg.norm(thigh), rng.choice([-1, 1]) * rng.uniform(0, 70))
    j[idx[f"{s}_ankle"]] = j[idx[f"{s}_knee"]] + shin * 0.48 * torso * rng.uniform(0.7, 1.0)
    # Arms: anywhere from hanging down to raised, elbow bend up to 150°.
    upper = _rot(down, sign * rng.uniform(-30, 170)) * 0.36 * torso * rng.uniform(0.65, 1.0)
    j[idx[f"{s}_elbow"]] = j[idx[f"{s}_shoulder"]] + upper
    fore = _rot(upper / np.linalg.norm(upper), rng.choice([-1, 1]) * rng.uniform(0, 150))
    j[idx[f"{s}_wrist"]] = j[idx[f"{s}_elbow"]] + fore * 0.32 * torso * rng.uniform(0.65, 1.0)
  return j


def _colour(rng: np.random.Generator) -> tuple[int, int, int]:
  return tuple(int(c) for c in rng.integers(0, 256, 3))


def _skin(rng: np.random.Generator) -> tuple[int, int, int]:
  base = np.array([(233, 196, 160), (198, 134, 94), (141, 85, 54), (87, 52, 33)])[rng.integers(4)]
  return tuple(int(c) for c in np.clip(base + rng.normal(0, 12, 3), 0, 255))


def _limb(draw: ImageDraw.ImageDraw, a, b, width: float, colour) -> None:
  w = max(int(round(width)), 1)
  draw.line([tuple(a), tuple(b)], fill=colour, width=w)
  for p in (a, b):
    draw.ellipse([p[0] - w / 2, p[1] - w / 2, p[0] + w / 2, p[1] + w / 2], fill=colour)


def draw_person(draw: ImageDraw.ImageDraw, joints: np.ndarray, torso: float,
                rng: np.random.Generator) -> None:
  """Torso polygon, limbs as rounded thick segments, head with a face (front-facing cue)."""
  idx = skeleton.JOINT_INDEX
  shirt, trousers, skin = _colour(rng), _colour(rng), _skin(rng)
  sleeve = shirt if rng.uniform() < 0.5 else skin
  p = {name: joints[i] for name, i in idx.items()}
  for s in ("r", "l"):  # legs first, torso over the hips
    _limb(draw, p[f"{s}_hip"], p[f"{s}_knee"], 0.24 * torso, trousers)
    _limb(draw, p[f"{s}_knee"], p[f"{s}_ankle"], 0.18 * torso, trousers)
  draw.polygon([tuple(p["r_shoulder"]), tuple(p["l_shoulder"]), tuple(p["l_hip"]),
                tuple(p["r_hip"])], fill=shirt)
  _limb(draw, p["pelvis"], p["thorax"], 0.3 * torso, shirt)
  _limb(draw, p["thorax"], p["upper_neck"], 0.12 * torso, skin)
  centre = p["upper_neck"] + 0.55 * (p["head_top"] - p["upper_neck"])
  r = 0.45 * np.linalg.norm(p["head_top"] - p["upper_neck"])
  draw.ellipse([centre[0] - r, centre[1] - r, centre[0] + r, centre[1] + r], fill=skin)
  eye_dir = (p["head_top"] - p["upper_neck"]) / (np.linalg.norm(p["head_top"] - p["upper_neck"])
                                                 + 1e-6)
  across = _rot(eye_dir, 90)
  for sign in (-1, 1):
    e = centre + sign * across * 0.4 * r + eye_dir * 0.1 * r
    er = max(r * 0.12, 0.8)
    draw.ellipse([e[0] - er, e[1] - er, e[0] + er, e[1] + er], fill=(20, 20, 20))
  m = centre - eye_dir * 0.45 * r
  draw.line([tuple(m - across * 0.25 * r), tuple(m + across * 0.25 * r)], fill=(120, 30, 30),
            width=max(int(r * 0.1), 1))
  for s in ("r", "l"):  # arms last: they may cross the torso
    _limb(draw, p[f"{s}_shoulder"], p[f"{s}_elbow"], 0.17 * torso, sleeve)
    _limb(draw, p[f"{s}_elbow"], p[f"{s}_wrist"], 0.14 * torso, skin)
    w = 0.1 * torso
    draw.ellipse([p[f"{s}_wrist"][0] - w, p[f"{s}_wrist"][1] - w, p[f"{s}_wrist"][0] + w,
                  p[f"{s}_wrist"][1] + w], fill=skin)


def _background(rng: np.random.Generator, size: int) -> Image.Image:
  a, b = np.array(_colour(rng), np.float32), np.array(_colour(rng), np.float32)
  t = np.linspace(0, 1, size, dtype=np.float32)[:, None]
  ramp = a * (1 - t) + b * t                                    # (size, 3)
  grad = np.broadcast_to(ramp[:, None, :] if rng.uniform() < 0.5 else ramp[None, :, :],
                         (size, size, 3))
  # Sensor-like noise from a small tile: full-size normal draws dominated the generator.
  tile = rng.standard_normal((64, 64, 3), dtype=np.float32) * 8
  grad = grad + np.tile(tile, (size // 64 + 1, size // 64 + 1, 1))[:size, :size]
  img = Image.fromarray(np.clip(grad, 0, 255).astype(np.uint8))
  draw = ImageDraw.Draw(img)
  for _ in range(rng.integers(4, 14)):
    x0, y0 = rng.uniform(-20, size, 2)
    w, h = rng.uniform(8, size / 2, 2)
    kind = rng.integers(3)
    if kind == 0:
      draw.rectangle([x0, y0, x0 + w, y0 + h], fill=_colour(rng))
    elif kind == 1:
      draw.ellipse([x0, y0, x0 + w, y0 + h], fill=_colour(rng))
    else:  # limb-like clutter
      draw.line([(x0, y0), (x0 + w, y0 + h)], fill=_colour(rng), width=int(rng.uniform(3, 14)))
  return img


def _place(rng: np.random.Generator, spec: SyntheticSpec, torso: float) -> np.ndarray:
  for _ in range(100):
    pelvis = rng.uniform(0.15 * spec.canvas, 0.85 * spec.canvas, 2)
    joints = sample_pose(rng, torso, pelvis)
    margin = 0.15 * torso
    if (joints.min() >= margin and joints.max() <= spec.canvas - 1 - margin):
      return joints
  # Fallback: centre the last pose (always fits: person height < canvas by construction).
  return joints - joints.mean(axis=0) + (spec.canvas - 1) / 2


def generate_example(seed: int, index: int, spec: SyntheticSpec = SyntheticSpec()) -> dict:
  """One synthetic person, a pure function of (seed, index).

  Returns:
    {"image": (canvas, canvas, 3) uint8, "joints": (16, 2) float32, "visible": (16,) bool
     (all labelled), "center": (2,) float32, "scale": float32 (person height ≈ 200·scale),
     "head_box": (4,) float32 x1 y1 x2 y2, "occluded": bool, "crowded": bool,
     "torso": float32 (px)}
  """
  rng = np.random.default_rng([seed, index])
  torso = rng.uniform(spec.torso_min, spec.torso_max)
  joints = _place(rng, spec, torso)
  img = _background(rng, spec.canvas)
  draw = ImageDraw.Draw(img)
  crowded = rng.uniform() < spec.crowd_prob
  behind, in_front = [], []
  if crowded:
    for _ in range(rng.integers(1, spec.max_distractors + 1)):
      t = torso * rng.uniform(0.8, 1.25)
      offset = (_rot(np.array([1.0, 0.0]), rng.uniform(0, 360)) * torso
                * rng.uniform(*spec.crowd_distance))
      other = sample_pose(rng, t, joints[skeleton.JOINT_INDEX["pelvis"]] + offset)
      (behind if rng.uniform() < 0.5 else in_front).append((other, t))
  for other, t in behind:
    draw_person(draw, other, t, rng)
  draw_person(draw, joints, torso, rng)
  for other, t in in_front:
    draw_person(draw, other, t, rng)
  occluded = rng.uniform() < spec.occluder_prob
  if occluded:
    for _ in range(rng.integers(1, spec.max_occluders + 1)):
      c = joints[rng.integers(skeleton.NUM_JOINTS)] + rng.normal(0, 0.1 * torso, 2)
      w, h = rng.uniform(*spec.occluder_size, 2) * torso
      box = [c[0] - w / 2, c[1] - h / 2, c[0] + w / 2, c[1] + h / 2]
      (draw.rectangle if rng.uniform() < 0.5 else draw.ellipse)(box, fill=_colour(rng))
  if rng.uniform() < 0.3:
    img = img.filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 1.2)))
  lo, hi = joints.min(axis=0), joints.max(axis=0)
  neck, top = joints[skeleton.JOINT_INDEX["upper_neck"]], joints[skeleton.JOINT_INDEX["head_top"]]
  head_side = np.linalg.norm(top - neck)
  mid = (neck + top) / 2
  return {
      "image": np.asarray(img, np.uint8),
      "joints": joints.astype(np.float32),
      "visible": np.ones(skeleton.NUM_JOINTS, bool),
      "center": ((lo + hi) / 2).astype(np.float32),
      "scale": np.float32(max(hi[0] - lo[0], hi[1] - lo[1]) / 200.0),
      "head_box": np.concatenate([mid - head_side / 2, mid + head_side / 2]).astype(np.float32),
      "occluded": bool(occluded),
      "crowded": bool(crowded),
      "torso": np.float32(torso),
  }
