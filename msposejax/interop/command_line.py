"""`msposejax import-torch` from the command line: princeton-vl PyTorch weights -> an orbax
checkpoint, and what was loaded (IO)."""

from __future__ import annotations

from typing import Any

import ml_collections

from msposejax.interop.torch_import import import_torch


def run_command(command: tuple[str, ...], config: ml_collections.ConfigDict, args: Any) -> None:
  """Imports --torch_weights into --out; prints what was loaded, new and unused."""
  del command  # one command
  report = import_torch(args.torch_weights, config, args.out)
  # "mss_head_r16", "msr": the kinds of new modules, not each stack's copy.
  new = sorted({p[2] if p[1].startswith("stack") else p[1]
                for p in (n.split("/") for n in report["new"])})
  print(f"wrote {report['path']}: {len(report['loaded'])} arrays loaded, {len(report['new'])} "
        f"new{' (' + ', '.join(new) + ')' if new else ''}, {len(report['unused'])} unused "
        "PyTorch keys (num_batches_tracked, unused skip_layer)")
