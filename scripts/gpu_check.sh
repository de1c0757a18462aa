#!/usr/bin/env bash
# The GPU session's one script (a machine with a GPU, CuPy, torch CUDA and no network):
# builds ember with its CUDA extension using every core, runs tests/cuda and the CUDA
# benchmark, and writes the logs to $OUT (default: gpu-logs/).
set -uo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-gpu-logs}
mkdir -p "$out"
nvidia-smi > "$out/nvidia-smi.txt" 2>&1
export CMAKE_BUILD_PARALLEL_LEVEL=$(nproc)
( time EMBER_CUDA=ON python -m pip install --no-build-isolation --no-deps -q . ) \
  > "$out/build.txt" 2>&1 || { tail -50 "$out/build.txt"; exit 1; }
cd tests  # the installed ember, not the source tree
python -c "import ember; print(ember.config()['cuda'])" > "../$out/config.txt" 2>&1
timeout 300 python -m pytest -q -p no:cacheprovider -c ../pyproject.toml --rootdir=.. \
  ../tests/cuda ../tests/test_device.py > "../$out/tests.txt" 2>&1
cd ..
timeout 200 python -m benchmarks.bench_cuda --json "$out/bench_cuda.json" \
  > "$out/bench_cuda.txt" 2>&1
tail -3 "$out/tests.txt"; cat "$out/bench_cuda.txt"
