#!/usr/bin/env bash
# Cloud TPU VM pod slices: create | setup | train | logs | stop | delete.
#
#   TPU_NAME=pose ZONE=us-central2-b ACCELERATOR_TYPE=v4-32 \
#   WORKDIR=gs://my-bucket/runs/msr8 CONFIG=configs/msr8_mpii.py launch/tpu.sh train
#
# Required: TPU_NAME, ZONE, ACCELERATOR_TYPE, WORKDIR (gs://...), CONFIG.
# Optional: PROJECT, RUNTIME_VERSION (tpu-ubuntu2204-base), REPO_URL (git URL of this repo),
#           BRANCH (main), TFDS_DATA_DIR (gs://... holding prepared datasets),
#           EXTRA_ARGS (e.g. "--config.batch_size=256"), DRY_RUN=1 (print, don't run).
# Every command is printed before it runs. `stop` sends SIGTERM: the run checkpoints first.
set -euo pipefail

usage() { sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
[[ $# -eq 1 ]] || usage
action=$1

require() {
  local missing=()
  for v in "$@"; do [[ -n "${!v:-}" ]] || missing+=("$v"); done
  if [[ ${#missing[@]} -gt 0 ]]; then
    echo "launch/tpu.sh: set ${missing[*]} (see the header of $0)" >&2
    exit 2
  fi
}

run() {
  printf '+'; printf ' %q' "$@"; printf '\n'
  if [[ "${DRY_RUN:-0}" != "1" ]]; then "$@"; fi
}

require TPU_NAME ZONE
project=()
[[ -n "${PROJECT:-}" ]] && project=(--project="$PROJECT")
ssh_all() { run gcloud compute tpus tpu-vm ssh "$TPU_NAME" --zone="$ZONE" "${project[@]}" --worker=all --command="$1"; }

case "$action" in
  create)
    require ACCELERATOR_TYPE
    run gcloud compute tpus tpu-vm create "$TPU_NAME" --zone="$ZONE" "${project[@]}" \
      --accelerator-type="$ACCELERATOR_TYPE" --version="${RUNTIME_VERSION:-tpu-ubuntu2204-base}"
    ;;
  setup)
    require REPO_URL
    ssh_all "set -e; (test -d msposejax || git clone --branch ${BRANCH:-main} $REPO_URL msposejax); cd msposejax && git pull --ff-only && python3 -m venv .venv && . .venv/bin/activate && pip install -q -e '.[tpu]'"
    ;;
  train)
    require ACCELERATOR_TYPE WORKDIR CONFIG
    if [[ "$WORKDIR" != gs://* ]]; then
      echo "launch/tpu.sh: WORKDIR must be on gs:// so every host and later sessions see it (got $WORKDIR)" >&2
      exit 2
    fi
    env_prefix=""
    [[ -n "${TFDS_DATA_DIR:-}" ]] && env_prefix="TFDS_DATA_DIR=$TFDS_DATA_DIR "
    ssh_all "cd msposejax && . .venv/bin/activate && ${env_prefix}nohup msposejax train --distributed --config $CONFIG --workdir $WORKDIR ${EXTRA_ARGS:-} > \$HOME/msposejax_train.log 2>&1 &"
    ;;
  logs)
    run gcloud compute tpus tpu-vm ssh "$TPU_NAME" --zone="$ZONE" "${project[@]}" --worker=0 \
      --command="tail -n 200 -f \$HOME/msposejax_train.log"
    ;;
  stop)
    ssh_all "pkill -TERM -f 'msposejax train' || true"
    ;;
  delete)
    run gcloud compute tpus tpu-vm delete "$TPU_NAME" --zone="$ZONE" "${project[@]}" --quiet
    ;;
  *) usage ;;
esac
