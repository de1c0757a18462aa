#!/usr/bin/env bash
# Builds ember with AddressSanitizer + UndefinedBehaviorSanitizer into its own virtual
# environment (.venv-sanitize, build folder build/sanitize) and runs pytest there with the
# sanitizer runtime preloaded (Python itself is not instrumented). Arguments go to pytest;
# default: the canary, then the kernel and op tests.
#
#     scripts/sanitize.sh                    # canary + tests/kernels + tests/ops
#     scripts/sanitize.sh tests/fuzz -q      # any other selection
set -euo pipefail
cd "$(dirname "$0")/.."
venv=.venv-sanitize
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
"$venv/bin/pip" install --quiet scikit-build-core pybind11 cmake ninja numpy pytest hypothesis safetensors
# The torch oracle, as in CI (tests that need it skip without it).
"$venv/bin/pip" install --quiet "torch==2.13.0" || echo "sanitize: no torch; its tests skip"
EMBER_SANITIZE=address,undefined "$venv/bin/pip" install --quiet --no-build-isolation \
  -C build-dir=build/sanitize -C cmake.build-type=RelWithDebInfo ".[test]"
libasan=$(${CXX:-g++} -print-file-name=libasan.so)
libubsan=$(${CXX:-g++} -print-file-name=libubsan.so)
export LD_PRELOAD="$libasan $libubsan"
# Python's own allocations are not tracked: leak checks would only report the interpreter.
export ASAN_OPTIONS=detect_leaks=0:abort_on_error=1:allocator_may_return_null=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
cd tests  # import the installed (sanitized) ember, not the source tree's
if [ "$#" -eq 0 ]; then
  set -- -q -p no:cacheprovider ../tests/reliability/test_sanitizer.py ../tests/kernels ../tests/ops
fi
exec "../$venv/bin/python" -m pytest -c ../pyproject.toml --rootdir=.. "$@"
