#!/usr/bin/env bash
# The quick start of a fresh clone: set up (scripts/setup.sh), then run the main job on one CPU.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
node bin/pedgpt.js quickstart "$@"
