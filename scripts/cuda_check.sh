#!/usr/bin/env bash
# Compile-checks ember's CUDA extension without a GPU: every .cu under csrc/ for sm_80,
# sm_90 and PTX (as CMakeLists.txt's CMAKE_CUDA_ARCHITECTURES), and every
# csrc/bindings/cuda_*.cpp against pybind11 and the CUDA toolkit's headers. Objects go to a
# temporary folder; warnings are errors.
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-python3}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
py_inc=$("$python" -c "import sysconfig; print(sysconfig.get_paths()['include'])")
pb_inc=$("$python" -c "import pybind11; print(pybind11.get_include())")
n=0
for cu in $(find csrc -name '*.cu' | sort); do
  nvcc -std=c++17 -O3 -Icsrc -Werror all-warnings \
    -gencode arch=compute_80,code=sm_80 -gencode arch=compute_90,code=sm_90 \
    -gencode arch=compute_90,code=compute_90 -c "$cu" -o "$out/$(basename "$cu").o"
  n=$((n + 1))
done
for cpp in csrc/bindings/cuda_*.cpp; do
  # nvcc as the driver: it adds the toolkit's include folder to the host compiler's
  nvcc -x c++ -std=c++17 -O2 -Xcompiler -Wall,-Wextra,-Werror,-fPIC -Icsrc -I"$py_inc" \
    -I"$pb_inc" -c "$cpp" -o "$out/$(basename "$cpp").o"
  n=$((n + 1))
done
echo "cuda_check: $n files compiled"
