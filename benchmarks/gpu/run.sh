#!/usr/bin/env bash
# The GPU benchmark on a bare GPU machine: what it runs on, then the benchmark under a
# hard time limit. Arguments go to llm_batching.py, e.g.
#   bash benchmarks/gpu/run.sh --out "$OUT/gpu.json"
# LIMIT (seconds, default 450) bounds the benchmark; PYTHON picks the interpreter.
set -euo pipefail
cd "$(dirname "$0")/../.."
PYTHON=${PYTHON:-python3}
LIMIT=${LIMIT:-450}

echo "# $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(uname -m), $(nproc) CPU cores"
nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm --format=csv \
  || echo "nvidia-smi failed: no NVIDIA driver here?"

# torch must be there already (the CUDA build is the machine's own); transformers and
# accelerate are installed only when missing. Offline, pip fails: carry wheels in .whl/.
for package in transformers accelerate; do
  if ! "$PYTHON" -c "import $package" 2>/dev/null; then
    if compgen -G ".whl/*.whl" >/dev/null; then
      "$PYTHON" -m pip install -q --no-index --find-links .whl --target /tmp/site "$package"
      export PYTHONPATH="/tmp/site${PYTHONPATH:+:$PYTHONPATH}"
    else
      "$PYTHON" -m pip install -q "$package"
    fi
  fi
done
"$PYTHON" -c "import sys, torch, transformers; print('# python', sys.version.split()[0], \
'| torch', torch.__version__, 'cuda', torch.version.cuda, torch.cuda.is_available(), \
'| transformers', transformers.__version__)"

# the repo root on the path: agents.llm.hf_backend is imported from the working tree
PYTHONPATH=".${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1 \
  timeout --signal=INT --kill-after=20 "$LIMIT" "$PYTHON" benchmarks/gpu/llm_batching.py "$@"
