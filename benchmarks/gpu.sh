#!/usr/bin/env bash
# The GPU figures, in one go on a CUDA machine (run from the repository root, with the venv's python
# first on PATH): a 700 px result with DPST's published settings on one DPST pair (seconds per stage;
# ../shared/data/dpst or --data), then the full-resolution benchmark (4, 12 and 24 MP: seconds per
# stage, peak RSS and peak GPU memory, quality of the full-resolution output at the working size).
set -euo pipefail
python benchmarks/dpst_quality.py --preset paper --pairs 1 --device cuda --out bench-out/gpu-paper "$@"
python benchmarks/dpst_quality.py --pairs 1,7,10 --device cuda --out bench-out/gpu-default "$@"
python benchmarks/fullres.py --device cuda --out bench-out/gpu-fullres
