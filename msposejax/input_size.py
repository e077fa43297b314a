"""The network input's shape: `config.input_size` is one side n (a square n×n crop, as every
config before COCO) or a pair (H, W) (top-down COCO models take 256×192 crops).

Plain Python, so every layer can ask it: data crops, targets, the model's variables, the
predictor, the exports and `describe`.
"""

from __future__ import annotations

from typing import Any


def input_hw(value: Any) -> tuple[int, int]:
  """(H, W) of an input size given as n, (H, W), [H, W] or a config holding `input_size`.

  Raises:
    ValueError: anything but one positive integer or two of them.
  """
  if hasattr(value, "input_size"):
    value = value.input_size
  if isinstance(value, (list, tuple)):
    if len(value) != 2:
      raise ValueError(f"input_size {value!r}: expected n or (H, W)")
    h, w = value
  else:
    h = w = value
  try:
    hw = (int(h), int(w))
  except (TypeError, ValueError):
    raise ValueError(f"input_size {value!r}: expected n or (H, W) in integers") from None
  if hw != (h, w) or min(hw) <= 0:
    raise ValueError(f"input_size {value!r}: expected positive integers")
  return hw


def is_square(value: Any) -> bool:
  h, w = input_hw(value)
  return h == w
