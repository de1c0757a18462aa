"""The sanitizer build is live: a deliberate heap overflow and a signed overflow in C++
abort the process with AddressSanitizer's and UBSan's reports. Runs only in the build made
by scripts/sanitize.sh (EMBER_SANITIZE=address,undefined); skipped elsewhere."""
import os
import subprocess
import sys

import pytest

from ember import _C

pytestmark = pytest.mark.skipif(not _C.sanitized, reason="not a sanitizer build "
                                "(scripts/sanitize.sh makes one)")


@pytest.mark.parametrize("kind,report", [("address", "heap-buffer-overflow"),
                                         ("undefined", "signed integer overflow")])
def test_canary_fault_is_caught_by_the_sanitizer(kind, report):
    code = f"from ember import _C; _C._sanitizer_canary({kind!r}); print('not caught')"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=dict(os.environ), timeout=120)
    assert out.returncode != 0 and "not caught" not in out.stdout
    assert report in out.stderr, out.stderr[-2000:]
