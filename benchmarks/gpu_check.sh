#!/usr/bin/env bash
# The GPU check: one command, under 10 minutes on one GPU.
#
#   benchmarks/gpu_check.sh [--dry-run] [--out FILE] [--python PY] [--tests "PYTEST ARGS"]
#
# 1. the machine: GPUs (nvidia-smi) and JAX: the CUDA build already installed is used and
#    its version reported (it may be newer than requirements.txt pins: the package must
#    work with it); without one, `pip install "jax[cuda12]==<installed jax>"` (else the
#    newest jax[cuda12]) is tried;
# 2. the engine tests (pytest; workers share the GPU: XLA_PYTHON_CLIENT_PREALLOCATE=false);
# 3. benchmarks/gpu_check.py: a full and a subspace Conv-2 step, and run throughput for
#    R = 1, 8, 64 runs batched with vmap against a loop;
# and writes a short report (default book/_generated/gpu_check.txt, for the status page).
#
# --dry-run: on a CPU in about a minute (what tests/test_gpu_check.py runs): nothing is
# installed, one quick test instead of the engine tests, tiny timing sizes.
# Exit status: 0 when every stage passed (a CPU-only machine passes only with --dry-run).
set -uo pipefail
cd "$(dirname "$0")/.."

DRY=0
OUT=""
PY="${PY:-}"
TESTS=""
while [ $# -gt 0 ]; do
  case "$1" in
    --dry-run) DRY=1 ;;
    --out) OUT="$2"; shift ;;
    --python) PY="$2"; shift ;;
    --tests) TESTS="$2"; shift ;;
    -h|--help) sed -n '2,19p' "$0"; exit 0 ;;
    *) echo "unknown argument $1 (see --help)"; exit 2 ;;
  esac
  shift
done
if [ -z "$PY" ]; then
  if [ -x .venv/bin/python ]; then PY=.venv/bin/python; else PY=python3; fi
fi
if [ -z "$OUT" ]; then
  if [ "$DRY" = 1 ]; then OUT="${TMPDIR:-/tmp}/gpu_check_dry_run.txt"; else OUT=book/_generated/gpu_check.txt; fi
fi
if [ -z "$TESTS" ]; then
  if [ "$DRY" = 1 ]; then
    TESTS="tests/test_lock.py::test_a_lock_of_another_host_is_refused_with_what_to_do"
  else
    TESTS="$(ls tests/test_engine*.py 2>/dev/null | tr '\n' ' ') tests/test_dask.py tests/test_lock.py"
  fi
fi
mkdir -p "$(dirname "$OUT")"
REPORT="$(mktemp)"
trap 'rm -f "$REPORT"' EXIT
say() { echo "$*" | tee -a "$REPORT"; }
START=$SECONDS
STATUS=0

say "# GPU check ($(date -u '+%Y-%m-%d %H:%M UTC'))$([ "$DRY" = 1 ] && echo ' -- DRY RUN on this machine, nothing installed')"
say "git $(git rev-parse --short HEAD 2>/dev/null || echo '?'); python $($PY -c 'import sys; print(sys.version.split()[0])')"

# ---- 1. the machine and JAX
if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then
  GPUS="$(nvidia-smi --query-gpu=index,name,memory.total,driver_version --format=csv,noheader)"
  say "GPUs: $(echo "$GPUS" | paste -sd ';' -)"
else
  GPUS=""
  say "GPUs: none (no working nvidia-smi)"
fi
jax_line() { $PY -c 'import jax, jaxlib; print(jax.__version__, jaxlib.__version__, jax.default_backend(), len(jax.devices()))' 2>/dev/null; }
read -r JAXV JAXLIBV BACKEND NDEV <<<"$(jax_line || echo '? ? none 0')"
PIN="$(sed -n 's/^jax==//p' requirements.txt)"
say "jax $JAXV (jaxlib $JAXLIBV), requirements.txt pins $PIN; backend $BACKEND, $NDEV device(s)"
if [ -n "$GPUS" ] && [ "$BACKEND" != "gpu" ]; then
  if [ "$DRY" = 1 ]; then
    say "would install the CUDA build: $PY -m pip install \"jax[cuda12]==$JAXV\""
  else
    say "no CUDA build of jax: installing jax[cuda12]==$JAXV"
    timeout 180 $PY -m pip install --quiet "jax[cuda12]==$JAXV" >>"$REPORT" 2>&1 \
      || { say "jax[cuda12]==$JAXV failed; trying the newest jax[cuda12]"; timeout 180 $PY -m pip install --quiet -U "jax[cuda12]" >>"$REPORT" 2>&1; }
    read -r JAXV JAXLIBV BACKEND NDEV <<<"$(jax_line || echo '? ? none 0')"
    say "now jax $JAXV (jaxlib $JAXLIBV), backend $BACKEND, $NDEV device(s)"
  fi
fi
if [ "$BACKEND" != "gpu" ] && [ "$DRY" != 1 ]; then
  say "FAIL: JAX does not see a GPU (backend $BACKEND); the rest runs on $BACKEND"
  STATUS=1
fi
[ "$JAXV" != "$PIN" ] && say "note: jax $JAXV is not the pinned $PIN; the checks below run with $JAXV"

# ---- 2. the engine tests
say ""
say "## engine tests: pytest $TESTS"
T0=$SECONDS
if XLA_PYTHON_CLIENT_PREALLOCATE=false timeout 270 $PY -m pytest -q -p no:cacheprovider $TESTS >"$REPORT.pytest" 2>&1; then
  say "PASS: $(tail -n 1 "$REPORT.pytest") ($((SECONDS - T0)) s)"
else
  say "FAIL (exit $?, $((SECONDS - T0)) s); last lines:"
  tail -n 30 "$REPORT.pytest" | tee -a "$REPORT"
  STATUS=1
fi
rm -f "$REPORT.pytest"

# ---- 3. timings
say ""
T0=$SECONDS
if ! timeout 200 $PY benchmarks/gpu_check.py $([ "$DRY" = 1 ] && echo --dry-run) >"$REPORT.timing" 2>&1; then
  STATUS=1
  say "FAIL: benchmarks/gpu_check.py ($((SECONDS - T0)) s); last lines:"
  tail -n 20 "$REPORT.timing" | tee -a "$REPORT"
else
  grep -v -e '^WARNING' -e '^I0000' -e '^W0000' "$REPORT.timing" | tee -a "$REPORT"
fi
rm -f "$REPORT.timing"

say ""
say "$([ "$STATUS" = 0 ] && echo PASS || echo FAIL): GPU check done in $((SECONDS - START)) s"
cp "$REPORT" "$OUT"
echo "report written to $OUT"
exit $STATUS
