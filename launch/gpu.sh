#!/usr/bin/env bash
# The same config on the local GPU(s): one process drives every visible GPU (data parallel).
#
#   CONFIG=configs/msr8_mpii.py WORKDIR=runs/msr8 launch/gpu.sh [--config.batch_size=32 ...]
#
# Required: CONFIG, WORKDIR. Optional: CUDA_VISIBLE_DEVICES, DRY_RUN=1.
#
# Which JAX CUDA wheels: they bring their own CUDA libraries, only the NVIDIA driver is the
# machine's (`nvidia-smi` prints its version):
#   driver >= 580  pip install -e ".[gpu]"     (= ".[cuda13]", CUDA 13: today's JAX wheels)
#   driver 525-579 pip install -e ".[cuda12]"  (CUDA 12; JAX <= 0.12.0.1, the last with it)
# Without internet on the GPU machine: docs/offline.md.
set -euo pipefail
missing=()
for v in CONFIG WORKDIR; do [[ -n "${!v:-}" ]] || missing+=("$v"); done
if [[ ${#missing[@]} -gt 0 ]]; then
  echo "launch/gpu.sh: set ${missing[*]} (see the header of $0)" >&2
  exit 2
fi
# The driver decides between the cuda13 and cuda12 extras; say it before JAX would fail.
if command -v nvidia-smi >/dev/null 2>&1; then
  driver=$(nvidia-smi --query-gpu=driver_version --format=csv,noheader 2>/dev/null | head -n1)
  major=${driver%%.*}
  if [[ "$major" =~ ^[0-9]+$ ]]; then
    if (( major >= 580 )); then extra=gpu; else extra=cuda12; fi
    echo "launch/gpu.sh: NVIDIA driver $driver: the matching install is pip install -e \".[$extra]\""
  fi
fi
# Let XLA take what it needs instead of preallocating 75% of GPU memory.
export XLA_PYTHON_CLIENT_PREALLOCATE=${XLA_PYTHON_CLIENT_PREALLOCATE:-false}
cmd=(msposejax train --config "$CONFIG" --workdir "$WORKDIR" "$@")
printf '+'; printf ' %q' "${cmd[@]}"; printf '\n'
[[ "${DRY_RUN:-0}" == "1" ]] || exec "${cmd[@]}"
