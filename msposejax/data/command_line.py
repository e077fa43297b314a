"""`msposejax data prepare` and `msposejax data show` from the command line (IO)."""

from __future__ import annotations

from typing import Any

import ml_collections


def run_command(command: tuple[str, ...], config: ml_collections.ConfigDict, args: Any) -> None:
  """Builds the config's dataset once, or draws a grid of training crops (--split, --num)."""
  if command == ("data", "prepare"):
    from msposejax.data import pipeline
    folder, sizes = pipeline.prepare(config)
    counts = ", ".join(f"{split} {n}" for split, n in sorted(sizes.items()))
    print(f"prepared {config.data.dataset} in {folder} ({counts} examples)")
  else:
    from msposejax.data import show
    print(f"wrote {show.save(config, args.split, args.num, args.out or 'grid.png')}")
