"""Seconds to initialise a config's model: one jitted `model.init` vs `init_variables`.

  python bench/init_time.py configs/tiny.py jit      # before: one program
  python bench/init_time.py configs/tiny.py eager    # after: state/variables.init_variables

Run each in a fresh process with no compilation cache (JAX_COMPILATION_CACHE_DIR unset), so
that the time is all compilation and computing. Prints one line.
"""

import sys
import time

import jax
import jax.numpy as jnp

from msposejax.config_files import load_config
from msposejax.models import pose_net_from_config
from msposejax.state.variables import init_variables


def main(path: str, mode: str) -> None:
  config = load_config(path)
  model = pose_net_from_config(config.model)
  n = config.input_size
  t0 = time.time()
  if mode == "jit":
    variables = jax.jit(lambda k: model.init(k, jnp.zeros((1, n, n, 3), jnp.float32)))(
        jax.random.key(0))
  elif mode == "eager":
    variables = init_variables(model, n, 0)
  else:
    raise SystemExit(f"mode {mode!r} is not jit or eager")
  jax.block_until_ready(variables)
  print(f"python {sys.version.split()[0]} jax {jax.__version__} {path} {mode}: "
        f"{time.time() - t0:.1f} s", flush=True)


if __name__ == "__main__":
  main(*sys.argv[1:3])
