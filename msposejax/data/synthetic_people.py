"""TFDS builder `synthetic_people`: generated people, no download (IO: writes ArrayRecord)."""

from __future__ import annotations

import dataclasses

import numpy as np
import tensorflow_datasets as tfds

from msposejax.data import features as features_lib
from msposejax.data.synthetic import HARD_SPEC, SyntheticSpec, generate_example

# Torso length under which a person counts as `scale_small` (person height ≲ 90 px of 256).
SMALL_TORSO = 36.0


@dataclasses.dataclass
class SyntheticPeopleConfig(tfds.core.BuilderConfig):
  train_size: int = 8000
  validation_size: int = 500
  seed: int = 0
  spec: SyntheticSpec = dataclasses.field(default_factory=SyntheticSpec)
  validation_spec: SyntheticSpec | None = None  # None: the training spec


class SyntheticPeople(tfds.core.GeneratorBasedBuilder):
  """Procedural people with the 16 MPII joints (msposejax.data.synthetic)."""

  VERSION = tfds.core.Version("1.1.0")
  RELEASE_NOTES = {"1.0.0": "First release.",
                   "1.1.0": "Thicker limbs; 20% occluders and 20% distractor people."}
  BUILDER_CONFIGS = [
      SyntheticPeopleConfig(name="default", description="8000 train / 500 validation people."),
      SyntheticPeopleConfig(name="small", train_size=512, validation_size=64,
                            description="For tests and smoke runs."),
      SyntheticPeopleConfig(name="hard", validation_size=1000, validation_spec=HARD_SPEC,
                            description="default's training people; 1000 hard validation "
                                        "people (scale, occlusion, crowding)."),
  ]

  def _info(self) -> tfds.core.DatasetInfo:
    return tfds.core.DatasetInfo(
        builder=self, description=__doc__, features=features_lib.features(),
        homepage="https://github.com/msposejax/msposejax")

  def _split_generators(self, dl_manager):
    cfg = self.builder_config
    # Disjoint example streams per split: seed for train, seed + 1 for validation.
    return {"train": self._generate_examples(cfg.seed, cfg.train_size, cfg.spec),
            "validation": self._generate_examples(cfg.seed + 1, cfg.validation_size,
                                                  cfg.validation_spec or cfg.spec)}

  def _generate_examples(self, seed: int, size: int, spec: SyntheticSpec):
    for i in range(size):
      ex = generate_example(seed, i, spec)
      yield i, {
          "image": features_lib.encode_jpeg(ex["image"]),
          "image_name": f"synthetic_{seed}_{i:06d}".encode(),
          "joints": ex["joints"], "visible": ex["visible"],
          "center": ex["center"], "scale": ex["scale"], "head_box": ex["head_box"],
          "offset": np.zeros(2, np.float32), "zoom": np.float32(1.0),
          "occluded": ex["occluded"], "crowded": ex["crowded"],
          "scale_small": bool(ex["torso"] < SMALL_TORSO),
      }


def builder_config(spec: str) -> SyntheticPeopleConfig | str | None:
  """The builder config named by the part after "synthetic_people/".

  "" → default; a registered name ("default", "small", "hard") → that name;
  "train=N,validation=M,seed=S,hard=H" (any subset) → a config of those sizes (hard=1: a
  hard validation split), named after them so each one is built and cached once.
  """
  if not spec or "=" not in spec:
    return spec or None
  fields = {"train": 8000, "validation": 500, "seed": 0, "hard": 0}
  for item in spec.split(","):
    key, _, value = item.partition("=")
    if key not in fields or not value.isdigit():
      raise ValueError(f"synthetic_people/{spec}: expected train=N,validation=M,seed=S,hard=0|1")
    fields[key] = int(value)
  name = f"train{fields['train']}_validation{fields['validation']}_seed{fields['seed']}"
  return SyntheticPeopleConfig(
      name=name + ("_hard" if fields["hard"] else ""),
      train_size=fields["train"], validation_size=fields["validation"], seed=fields["seed"],
      validation_spec=HARD_SPEC if fields["hard"] else None,
      description="sizes from the dataset name")
