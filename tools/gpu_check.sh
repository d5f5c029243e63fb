#!/usr/bin/env bash
# The GPU check on one lent GPU (docs/benchmarks.md#gpu-check): `aelpn bench --gpu-check` at paper width, 128 px
# real BSDS500 crops, batch 16, 500 steps per choice (fp32, TF32, bf16 autocast, + channels_last, + compile) for
# the two speed families of the variants (lpn: the full input-convex network; aelpn: the affine-equivariant one),
# under a timeout (default 480 s: about 8 minutes on one H100). Installs nothing: it runs the project from src/
# with the Python it finds (PYTHON, default python3), which must already have the project's dependencies.
# Writes under $OUT: machine.txt (nvidia-smi, torch, commit), gpu_check.log (every row as it finishes, the table,
# the exit status), gpu_check.nc and gpu_check.md (the table) when the check finished.
#   OUT=/tmp/gpu tools/gpu_check.sh          # GPU_CHECK_TIMEOUT=seconds, GPU_CHECK_VARIANTS="lpn", AELPN_IMAGES=dir
set -uo pipefail
: "${OUT:?set OUT to the folder the results go to}"
PY=${PYTHON:-python3}
LIMIT=${GPU_CHECK_TIMEOUT:-480}
read -r -a VARIANTS <<< "${GPU_CHECK_VARIANTS:-lpn aelpn}"
cd "$(dirname "$0")/.." || exit 2
images=
for dir in "${AELPN_IMAGES:-}" ../shared/data/BSDS500 shared/data/BSDS500; do
  if [ -n "$dir" ] && [ -d "$dir/images/train" ]; then images=$dir; break; fi
done
if [ -z "$images" ]; then
  echo "gpu_check.sh: no BSDS500 copy (images/train/*.jpg) at AELPN_IMAGES, ../shared/data/BSDS500 or" \
       "shared/data/BSDS500" >&2
  exit 2
fi
mkdir -p "$OUT"
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}"
{
  date -u
  git rev-parse HEAD 2>/dev/null
  nvidia-smi
  "$PY" -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda, 'available', torch.cuda.is_available())"
} > "$OUT/machine.txt" 2>&1
if ! "$PY" -c "import aelpn.bench.gpu, aelpn.cli" 2> "$OUT/import_error.txt"; then
  echo "gpu_check.sh: the project does not import with $PY (its dependencies are missing): $OUT/import_error.txt" >&2
  exit 2
fi
rm -f "$OUT/import_error.txt"
timeout --kill-after=20 "$LIMIT" "$PY" -m aelpn.cli bench --gpu-check --paper config/config.yaml --images "$images" \
  --variants "${VARIANTS[@]}" --gpu-steps 500 --gpu-batch 16 --gpu-size 128 --gpu-crops 72 \
  --gpu-out "$OUT/gpu_check.nc" 2>&1 | tee "$OUT/gpu_check.log"
rc=${PIPESTATUS[0]}
echo "gpu_check.sh: exit status $rc (124: stopped by the ${LIMIT} s timeout)" | tee -a "$OUT/gpu_check.log"
if [ "$rc" -eq 0 ]; then
  "$PY" -c "import sys, xarray; from aelpn.bench.gpu import gpu_table; print(gpu_table(xarray.open_dataset(sys.argv[1])))" \
    "$OUT/gpu_check.nc" > "$OUT/gpu_check.md"
fi
exit "$rc"
