#!/usr/bin/env bash
# The same config on the local GPU(s): one process drives every visible GPU (data parallel).
#
#   CONFIG=configs/msr8_mpii.py WORKDIR=runs/msr8 launch/gpu.sh [--config.batch_size=32 ...]
#
# Required: CONFIG, WORKDIR. Optional: CUDA_VISIBLE_DEVICES, DRY_RUN=1.
# Needs `pip install -e ".[gpu]"` (CUDA 12 JAX).
set -euo pipefail
missing=()
for v in CONFIG WORKDIR; do [[ -n "${!v:-}" ]] || missing+=("$v"); done
if [[ ${#missing[@]} -gt 0 ]]; then
  echo "launch/gpu.sh: set ${missing[*]} (see the header of $0)" >&2
  exit 2
fi
# Let XLA take what it needs instead of preallocating 75% of GPU memory.
export XLA_PYTHON_CLIENT_PREALLOCATE=${XLA_PYTHON_CLIENT_PREALLOCATE:-false}
cmd=(msposejax train --config "$CONFIG" --workdir "$WORKDIR" "$@")
printf '+'; printf ' %q' "${cmd[@]}"; printf '\n'
[[ "${DRY_RUN:-0}" == "1" ]] || exec "${cmd[@]}"
