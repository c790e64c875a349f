#!/usr/bin/env bash
# Loss ablation on 2 CPU cores, as a fine-tune: the shipped model continued for STEPS steps
# with each loss (Tversky, Dice, cross-entropy) on the same logs in the same order (seeds from
# 30,000, never used for validation), each scored with the shipped model on the same
# validation logs (VALDIR: a folder of cases, e.g. the first 40 of the validation set)
# through the full pipeline.  Starting all three from one trained model shows where each
# loss pulls the mask (recall against precision) and what that does to the recovered curves,
# which a from-scratch run of a few hundred steps cannot.
#   VALDIR=/tmp/abl_val STEPS=150 OUT=engine/ablation_cpu bash tools/ablation_cpu.sh
set -euo pipefail
OUT=${OUT:-abl_cpu}; STEPS=${STEPS:-150}; VALDIR=${VALDIR:?a folder of validation cases}
WORK=$(mktemp -d); mkdir -p "$OUT"
T0=$(date +%s); stamp() { echo "[$(( $(date +%s) - T0 )) s] $*"; }
score() {  # $1 name, $2 model
  VEERNET_MODEL=$2 python3 -c "
import json, os, sys
os.environ['VEERNET_ORT_THREADS'] = '1'
from veernet.evaluate import evaluate
s = evaluate('$VALDIR', segmenter='onnx', workers=2).summary()
json.dump(s, open('$OUT/ablation_$1.json', 'w'), indent=1)
print('$1', round(s['r2_median'], 4), round(s['r2_p10'], 3), round(s['pass_rate'], 3),
      {k: (round(v['recall'], 3), round(v['precision'], 3), round(v['iou'], 3)) for k, v in s['mask'].items()})
"
}
score shipped engine/segmenter.onnx; stamp "scored the shipped model"
for loss in tversky dice ce; do
  sed -e "s|^loss = .*|loss = \"$loss\"|" -e "s|^steps = .*|steps = $STEPS|" \
      -e "s|^train_seed = .*|train_seed = 30000|" engine/finetune_cpu.toml > "$WORK/$loss.toml"
  python3 -m veernet.cli train --config "$WORK/$loss.toml" --out "$WORK/$loss" > "$OUT/train_$loss.log" 2>&1
  stamp "trained $loss"
  cp "$WORK/$loss/training.json" "$OUT/training_$loss.json"
  score "$loss" "$WORK/$loss/segmenter.onnx"; stamp "scored $loss"
done
