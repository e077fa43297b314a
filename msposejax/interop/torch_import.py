"""`msposejax import-torch`: a princeton-vl PyTorch checkpoint → an orbax checkpoint of ours (IO).

The result, OUT/checkpoints/0, holds the converted weights (no optimizer state: it is a
starting point, not a run to resume) and the config. Use it as `config.init_from` (MSS heads
and MSR-net start fresh, reported in the log) or restore it with
`Predictor.from_checkpoint(OUT)`. Neither optax nor the trainer is involved.
"""

from __future__ import annotations

import os
from typing import Any

import jax
import ml_collections
import numpy as np

from msposejax.config_checks import validate_config
from msposejax.interop.torch_names import convert
from msposejax.models import pose_net_from_config
from msposejax.state import checkpointing
from msposejax.state.variables import init_variables


def load_state_dict(path: str | os.PathLike) -> dict[str, np.ndarray]:
  """A PyTorch checkpoint's state dict as NumPy arrays (a bare state dict or {"state_dict"})."""
  try:
    import torch  # pylint: disable=import-outside-toplevel
  except ImportError as e:
    raise ImportError("import-torch needs PyTorch: pip install 'msposejax[torch]'") from e
  path = os.fspath(path)
  if not os.path.isfile(path):
    raise FileNotFoundError(f"no PyTorch checkpoint at {path}")
  try:
    obj = torch.load(path, map_location="cpu", weights_only=True)
  except Exception as e:  # torch raises several types for a truncated or foreign file
    raise ValueError(f"{path} is not a readable PyTorch checkpoint ({type(e).__name__}: "
                     f"{str(e).splitlines()[0] if str(e) else ''})") from e
  if isinstance(obj, dict) and isinstance(obj.get("state_dict"), dict):
    obj = obj["state_dict"]
  if not isinstance(obj, dict) or not all(hasattr(v, "numpy") for v in obj.values()):
    raise ValueError(f"{path} holds no state dict (expected name → tensor, or "
                     "{'state_dict': ...})")
  return {k: v.detach().cpu().float().numpy() for k, v in obj.items()}


def import_torch(checkpoint: str | os.PathLike, config: ml_collections.ConfigDict,
                 out: str | os.PathLike) -> dict[str, Any]:
  """Converts `checkpoint` for `config.model` and saves it as OUT/checkpoints/0.

  Returns the report of `torch_names.convert` plus "path". Raises FileExistsError when OUT
  already holds checkpoints (nothing is overwritten).
  """
  validate_config(config)
  state_dict = load_state_dict(checkpoint)
  config = config.copy_and_resolve_references()
  with config.unlocked():
    config.init_from = ""  # the imported weights are the starting point
  with checkpointing.Checkpointer(out, config) as ckpt:
    if ckpt.latest_step() is not None:
      raise FileExistsError(f"{checkpointing.as_path(out)} already holds checkpoints; "
                            "import into a new folder")
    # Freshly initialised variables (seeded by the config): what PyTorch does not provide
    # (the MSS heads and MSR-net of an MSS+MSR config) starts as a training from scratch would.
    model = pose_net_from_config(config.model)
    target = init_variables(model, config.input_size, config.seed)
    variables, report = convert(state_dict, jax.device_get(target))
    variables = jax.tree.map(lambda new, old: np.asarray(new, old.dtype), variables, target)
    ckpt.save_variables(variables)
  return {**report, "path": str(checkpointing.as_path(out) / checkpointing.CHECKPOINT_DIR / "0")}
