#!/usr/bin/env bash
# Loss ablation on a GPU machine in one call: the shipped config, shortened to STEPS steps,
# trained with the Tversky, Dice and cross-entropy losses, each scored on the first COUNT
# validation logs through the full pipeline.  Results (one JSON summary per loss and the
# training logs) go to $OUT as they finish.  Needs .carry/whl (lasio) and .carry/las.
set -uo pipefail
FINAL=${OUT:-abl_out}; mkdir -p "$FINAL"
STEPS=${STEPS:-600}; COUNT=${COUNT:-40}; LIMIT=${LIMIT:-50}
T0=$(date +%s); stamp() { echo "[$(( $(date +%s) - T0 )) s] $*"; }
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .carry/whl/*.whl && export PYTHONPATH=/tmp/site
python3 -m pip install -q --no-build-isolation --no-deps -C cmake.define.CMAKE_CUDA_ARCHITECTURES=90-real . > /tmp/build.log 2>&1 || { tail -20 /tmp/build.log; exit 1; }
stamp built
( cd /tmp && VEERNET_ORT_THREADS=1 python3 "$OLDPWD/tools/validate_model.py" /tmp/val/cases --count "$COUNT" --workers 15 --las-dir "$OLDPWD/.carry/las" --segmenters classical --out /tmp > /dev/null 2>&1 ) &
GEN=$!
for loss in tversky dice ce; do
  sed -e "s|^las_dir = .*|las_dir = \".carry/las\"|" -e "s|^workers = .*|workers = 14|" \
      -e "s|^steps = .*|steps = $STEPS|" -e "s|^loss = .*|loss = \"$loss\"|" engine/train_config.toml > /tmp/abl_$loss.toml
  VEERNET_TRAIN_TIME_LIMIT=$LIMIT python3 -m veernet.cli train --config /tmp/abl_$loss.toml --out /tmp/abl/$loss --device cuda > "$FINAL/train_$loss.log" 2>&1
  stamp "trained $loss"
  wait $GEN 2>/dev/null
  ( cd /tmp && VEERNET_MODEL=/tmp/abl/$loss/segmenter.onnx VEERNET_ORT_THREADS=1 python3 "$OLDPWD/tools/validate_model.py" /tmp/val/cases \
      --count "$COUNT" --workers 15 --las-dir "$OLDPWD/.carry/las" --segmenters onnx --out /tmp/abl/$loss > /dev/null 2>&1 )
  python3 -c "import json,sys; s=json.load(open('/tmp/abl/$loss/validation_onnx.json'))['summary']; s['steps_done']=json.load(open('/tmp/abl/$loss/training.json'))['steps_done']; json.dump(s, open('$FINAL/ablation_$loss.json','w'), indent=1)" \
    && stamp "scored $loss: $(python3 -c "import json; s=json.load(open('$FINAL/ablation_$loss.json')); print({k: s[k] for k in ('r2_median', 'pass_rate', 'steps_done')}, {k: round(v['recall'], 3) for k, v in s['mask'].items()})")"
done
stamp done
