#!/usr/bin/env bash
# The GPU figures, in one go on a CUDA machine (run from the repository root, with the venv's python
# first on PATH), each benchmark printing its own table:
#   1. full resolution (4, 12 and 24 MP): seconds per stage, peak RSS and GPU memory, quality of the
#      full-resolution output at the working size;
#   2. dpst, gatys and strotss side by side on pair 1, then the NIMA term on the same pair;
#   3. the defaults on pairs 1, 7 and 10 with the hand masks;
#   4. a 700 px result with DPST's published settings on pair 1.
# DATA is the dpst folder (default ../shared/data/dpst; on a machine without it, copy in.png, tar.png,
# the segmentation and the reference of pairs 1, 7 and 10 into a folder of the same layout).
# CONTENT and STYLE replace the full-resolution benchmark's photos (mate-backgrounds' by default).
# BENCH_OUT is where outputs and artifacts go (default bench-out).
set -euo pipefail
data=${DATA:-../shared/data/dpst}
out=${BENCH_OUT:-bench-out}
photos=()
[[ -n ${CONTENT:-} ]] && photos+=(--content "$CONTENT")
[[ -n ${STYLE:-} ]] && photos+=(--style "$STYLE")
python benchmarks/fullres.py --device cuda --out "$out/gpu-fullres" "${photos[@]}"
python benchmarks/methods.py --data "$data" --pairs 1 --device cuda --out "$out/gpu-methods" \
    --picture "$out/gpu-methods/methods.jpg"
python benchmarks/nima.py --data "$data" --pairs 1 --device cuda --out "$out/gpu-methods" --no-own-gatys
python benchmarks/dpst_quality.py --data "$data" --pairs 1,7,10 --device cuda --out "$out/gpu-default"
python benchmarks/dpst_quality.py --data "$data" --preset paper --pairs 1 --device cuda --out "$out/gpu-paper"
