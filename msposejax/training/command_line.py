"""`msposejax train` and `msposejax eval` from the command line (IO: processes, devices)."""

from __future__ import annotations

from typing import Any

import jax
import ml_collections


def run_command(command: tuple[str, ...], config: ml_collections.ConfigDict | None,
                args: Any) -> None:
  """Joins the other processes where asked (--distributed, --coordinator_address), then trains
  (`loop.train`) or evaluates one checkpoint (`evaluate_checkpoint`; config None: the
  checkpoint's own saved config)."""
  if args.coordinator_address:
    jax.distributed.initialize(args.coordinator_address, args.num_processes, args.process_id)
  elif args.distributed:
    jax.distributed.initialize()  # cluster auto-detection (Cloud TPU pod, SLURM)
  if command == ("train",):
    from msposejax.training import loop
    loop.train(config, args.workdir)
  else:
    from msposejax.training.eval_checkpoint import evaluate_checkpoint
    evaluate_checkpoint(config, args.workdir, args.step)
