"""Worker for test_multihost.py: a few train steps of the tiny config on a global mesh.

argv: OUT_JSON NUM_PROCESSES PROCESS_ID PORT; the test sets this process's devices and XLA
flags in its environment (tests/training/conftest.cli_env).
Each process feeds its slice of the same deterministic global batches, assembled with
jax.make_array_from_process_local_data; process 0 writes the losses, parameter sums (JSON)
and the parameters before and after (OUT_JSON.npz).
"""

import json
import os
import sys

out, num_processes, process_id, port = sys.argv[1:]
os.environ["JAX_PLATFORMS"] = "cpu"

import jax  # noqa: E402

if int(num_processes) > 1:
  jax.config.update("jax_cpu_collectives_implementation", "gloo")
  jax.distributed.initialize(f"localhost:{port}", int(num_processes), int(process_id))

import numpy as np  # noqa: E402

from msposejax.config_files import load_config  # noqa: E402
from msposejax.codecs import MultiScaleCodec  # noqa: E402
from msposejax.training import sharding  # noqa: E402
from msposejax.training.trainer import Trainer  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
config = load_config(os.path.join(REPO, "configs", "tiny.py"))
with config.unlocked():
  config.batch_size = 8
  # The smallest network that still has every kind of layer (stem, hourglass, MSS heads,
  # MSR-net): three processes compile it at once on the test machine's two cores.
  config.model.num_stacks = 1
  config.model.features = 16
  config.model.stem_features = (16, 32)
  config.optimizer.schedule = "constant"
  # RMSProp's first steps move each parameter by ~±lr whatever the gradient's size, which
  # would turn last-bit reduction-order differences into visible ones; keep lr small.
  config.optimizer.learning_rate = 1e-5
trainer = Trainer(config, "/tmp/unused")
step = trainer.compile_train_step()
state = trainer.init_state()
from jax.experimental import multihost_utils  # noqa: E402
start = multihost_utils.process_allgather(state.params, tiled=True)
per_process = config.batch_size // jax.process_count()
lo = jax.process_index() * per_process
losses, grad_norms = [], []
for i in range(3):
  rng = np.random.default_rng(i)
  b, n, k = config.batch_size, config.input_size, config.model.num_joints
  full = {"image": rng.integers(0, 255, (b, n, n, 3), dtype=np.uint8),
          "targets": {r: rng.uniform(size=(b, r, r, k)).astype(np.float32)
                      for r in MultiScaleCodec.from_config(config).resolutions},
          "weights": (rng.uniform(size=(b, k)) > 0.2).astype(np.float32),
          "valid": np.ones(b, bool)}
  local = jax.tree.map(lambda x: x[lo:lo + per_process], full)
  state, metrics = step(state, sharding.global_batch(local, trainer.mesh))
  losses.append(float(metrics["loss/total"]))
  grad_norms.append(float(metrics["grad_norm"]))
params = multihost_utils.process_allgather(state.params, tiled=True)
sums = {jax.tree_util.keystr(p): [float(np.sum(np.abs(x))), int(np.size(x))]
        for p, x in jax.tree_util.tree_leaves_with_path(params)}
if jax.process_index() == 0:
  # Every parameter, for an element-wise comparison (sums let errors of opposite sign cancel).
  np.savez(out + ".npz", **{f"{when}{jax.tree_util.keystr(p)}": np.asarray(x)
                            for when, tree in (("start", start), ("end", params))
                            for p, x in jax.tree_util.tree_leaves_with_path(tree)})
  with open(out, "w") as f:
    json.dump({"devices": jax.device_count(), "processes": jax.process_count(),
               "losses": losses, "grad_norms": grad_norms, "param_abs_sums": sums}, f)
