#!/usr/bin/env bash
# One call on a GPU machine with nothing installed beyond the repository and the image:
# build the package for the GPU, run the GPU tests and benchmarks, and (with
# VEERNET_TRAIN=1) train the segmenter and measure it on the validation set, all within
# about 8 minutes.  Results go to $OUT (or ./gpu_out).  A short table is printed last.
#
# Carried beside the repository (ignored by git): .carry/whl (lasio wheel) and
# .carry/las (the shared LAS files), see CONTRIBUTING.md.
set -uo pipefail
FINAL=${OUT:-gpu_out}
OUT=/tmp/gpu_check  # working folder; a few files and one archive go to $FINAL at the end
rm -rf "$OUT"
mkdir -p "$OUT" "$FINAL"
T0=$(date +%s)
stamp() { echo "[$(( $(date +%s) - T0 )) s] $*"; }
PY=${PYTHON:-python3}
REPO=$PWD

if ls .carry/whl/*.whl >/dev/null 2>&1; then
  $PY -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .carry/whl/*.whl && export PYTHONPATH=/tmp/site
fi
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee "$OUT/device.txt"

stamp "building (CUDA for sm_90 only)"
export CMAKE_BUILD_PARALLEL_LEVEL=$(nproc)
$PY -m pip install -q --no-build-isolation --no-deps -C cmake.define.CMAKE_CUDA_ARCHITECTURES=90-real . \
  > "$OUT/build.log" 2>&1 || { tail -40 "$OUT/build.log"; exit 1; }
cd /tmp  # import the installed package, not the source tree
$PY -c "import veernet, json; print(json.dumps(veernet.build_info()))" | tee "$OUT/build_info.json"
cd "$REPO"

LAS=.carry/las
export VEERNET_LAS_DIR=$REPO/$LAS  # the tests' rendered logs
TRAIN_PID=""
if [ "${VEERNET_TRAIN:-0}" = "1" ]; then
  stamp "training in the background"
  sed -e "s|^las_dir = .*|las_dir = \"$LAS\"|" -e "s|^workers = .*|workers = ${TRAIN_WORKERS:-12}|" \
    ${TRAIN_CONFIG:-engine/train_config.toml} > "$OUT/train_config_device.toml"
  (PYTHONUNBUFFERED=1 VEERNET_TRAIN_TIME_LIMIT=${TRAIN_SECONDS:-240} timeout ${TRAIN_LIMIT:-330} $PY -m veernet.cli train --config "$OUT/train_config_device.toml" \
     --out "$OUT/model" --device cuda > "$OUT/train.log" 2>&1) &
  TRAIN_PID=$!
fi

stamp "smoke: one mask thinned and one track traced on the GPU, against the CPU"
(cd /tmp && PYTHONUNBUFFERED=1 timeout 90 $PY "$REPO/bench/gpu_smoke.py" "$OUT" 2>&1 | tee "$OUT/smoke.txt")

stamp "GPU tests"
PYTHONUNBUFFERED=1 timeout 240 $PY -m pytest -q -p no:cacheprovider --timeout=120 -rfE --durations=8 \
  tests/test_gpu.py tests/test_thin.py tests/test_trace.py > "$OUT/gpu_tests.log" 2>&1
echo "tests exit $?" >> "$OUT/gpu_tests.log"
grep -E "^(FAILED|ERROR)|passed|failed|tests exit" "$OUT/gpu_tests.log" | cut -c1-300 | tail -25

stamp "GPU kernel benchmarks"
PYTHONUNBUFFERED=1 timeout 150 $PY bench/bench_gpu.py --json "$OUT/bench_gpu.json" > "$OUT/bench_gpu.txt" 2>&1
echo "bench exit $?" >> "$OUT/bench_gpu.txt"

stamp "tiling stage alone, GPU then CPU, against the per-tile blend it replaced"
(PYTHONUNBUFFERED=1 timeout 60 $PY bench/bench_tiling.py --device gpu --rows 40000 --json "$OUT/bench_tiling_gpu.json"
 PYTHONUNBUFFERED=1 timeout 60 $PY bench/bench_tiling.py --device cpu --rows 40000 --repeat 2) > "$OUT/bench_tiling.txt" 2>&1
echo "tiling bench exit $?" >> "$OUT/bench_tiling.txt"

stamp "pipeline on the device, the segmenter on the GPU through PyTorch (stand-in for TensorRT)"
PYTHONUNBUFFERED=1 timeout 150 $PY bench/bench_gpu_pipeline.py --json "$OUT/bench_gpu_pipeline.json" \
  > "$OUT/bench_gpu_pipeline.txt" 2>&1
echo "pipeline bench exit $?" >> "$OUT/bench_gpu_pipeline.txt"

stamp "digitize --device auto on the bundled example (which backend ran)"
(cd /tmp && timeout 90 $PY -m veernet.cli digitize "$REPO/examples/lauren_700-760m.png" \
  --layout "$REPO/examples/lauren_700-760m.toml" --out "$OUT/example.las" --device auto \
  > "$OUT/digitize_auto.txt" 2>&1; echo "digitize exit $?" >> "$OUT/digitize_auto.txt")
tail -6 "$OUT/digitize_auto.txt"

if [ "${VEERNET_CLI_BENCH:-0}" = "1" ]; then
  stamp "veernet bench --quick, --device gpu then cpu (segmenter: TensorRT if installed, else ONNX Runtime on the CPU)"
  (cd /tmp && PYTHONUNBUFFERED=1 timeout 150 $PY -m veernet.cli bench --quick --device gpu \
    --json "$OUT/bench_pipeline_gpu.json" --md "$OUT/bench_pipeline_gpu.md" > "$OUT/bench_pipeline.txt" 2>&1
   echo "pipeline gpu exit $?" >> "$OUT/bench_pipeline.txt"
   PYTHONUNBUFFERED=1 timeout 90 $PY -m veernet.cli bench --quick --device cpu \
    --json "$OUT/bench_pipeline_cpu.json" --md "$OUT/bench_pipeline_cpu.md" >> "$OUT/bench_pipeline.txt" 2>&1
   echo "pipeline cpu exit $?" >> "$OUT/bench_pipeline.txt")
fi

if [ -n "$TRAIN_PID" ]; then
  stamp "waiting for training"
  wait "$TRAIN_PID"; echo "train exit $?" >> "$OUT/train.log"
  tail -4 "$OUT/train.log"
  if [ -f "$OUT/model/segmenter.onnx" ]; then
    stamp "validation (learned and classical)"
    PYTHONUNBUFFERED=1 VEERNET_MODEL="$OUT/model/segmenter.onnx" timeout ${VAL_LIMIT:-150} \
      $PY tools/validate_model.py /tmp/val/cases --count ${VAL_COUNT:-200} \
      --workers 15 --las-dir "$LAS" --out "$OUT" > "$OUT/validation.log" 2>&1
    echo "validation exit $?" >> "$OUT/validation.log"
    tail -3 "$OUT/validation.log" | cut -c1-600
  fi
fi
stamp "done"
tar -czf "$FINAL/results.tgz" -C "$OUT" --exclude model .
cp "$OUT/bench_gpu.txt" "$OUT/gpu_tests.log" "$OUT/bench_gpu_pipeline.txt" "$OUT/bench_tiling.txt" "$FINAL/" 2>/dev/null
cp "$OUT/model/segmenter.onnx" "$OUT/model/training.json" "$FINAL/" 2>/dev/null
cat "$OUT/bench_gpu.txt" "$OUT/bench_tiling.txt"
tail -12 "$OUT/bench_gpu_pipeline.txt"
