"""Time of one orbax save of a training state, with and without replica-parallel saving.

  python bench/checkpoint_save.py --devices 8 --fsdp 2                 # orbax's default
  python bench/checkpoint_save.py --devices 8 --fsdp 2 --no-replica-parallel

The state of `configs/tiny.py` with one stack (626 arrays) on DEVICES fake CPU devices,
parameters sharded FSDP-ways; three saves through `Checkpointer.save`, each waited
for. `--no-replica-parallel` registers orbax's ArrayHandler(use_replica_parallel=False) for
jax.Array in this process only (a global registration: not what msposejax does). Results:
docs/benchmarks.md ("The suite, fourth session").
"""

import argparse
import os
import shutil
import tempfile
import time

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--devices", type=int, default=8)
parser.add_argument("--fsdp", type=int, default=2)
parser.add_argument("--no-replica-parallel", action="store_true")
args = parser.parse_args()
os.environ["XLA_FLAGS"] = f"--xla_force_host_platform_device_count={args.devices}"
os.environ.setdefault("JAX_PLATFORMS", "cpu")

import jax  # noqa: E402
import orbax.checkpoint as ocp  # noqa: E402

from msposejax.config_files import load_config  # noqa: E402
from msposejax.state import checkpointing  # noqa: E402
from msposejax.training.trainer import Trainer  # noqa: E402

if args.no_replica_parallel:
  ocp.type_handlers.register_type_handler(
      jax.Array, ocp.type_handlers.ArrayHandler(use_replica_parallel=False), override=True)
config = load_config(os.path.join(os.path.dirname(__file__), "..", "configs", "tiny.py"))
with config.unlocked():
  config.model.num_stacks = 1
  config.batch_size = 8
  config.mesh.fsdp = args.fsdp
workdir = tempfile.mkdtemp()
try:
  trainer = Trainer(config, workdir)
  state = trainer.init_state()
  with checkpointing.Checkpointer(workdir, config) as ckpt:
    for step in (1, 2, 3):
      state = state.replace(step=step)
      start = time.perf_counter()
      ckpt.save(state)
      blocking = time.perf_counter() - start
      ckpt.wait_until_finished()
      print(f"save {step}: {len(jax.tree.leaves(state))} arrays on {jax.device_count()} "
            f"devices, blocking {blocking:.2f} s, total {time.perf_counter() - start:.2f} s")
finally:
  shutil.rmtree(workdir, ignore_errors=True)
