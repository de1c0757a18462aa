"""Coverage-guided fuzzing of one target (targets.py) with atheris, from its valid seeds:

    python tests/fuzz/run_atheris.py checkpoint -runs=1000000

Python-level coverage guides the mutation (all loaded Python code is instrumented); the C++ side
is exercised through its bindings, where a memory error ends the process (and is pinned to
its line in the sanitizer build, docs/ARCHITECTURE.md "Reliability"). libFuzzer prints
"Done N runs" at the end.
"""
import os
import sys
import tempfile

import atheris

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import targets  # noqa: E402  (imports ember)

atheris.instrument_all()  # every loaded Python function, ember's included, reports coverage


def main() -> None:
    name = sys.argv[1]
    target = targets.TARGETS[name]
    corpus = tempfile.mkdtemp(prefix=f"ember-fuzz-{name}-")
    for i, seed in enumerate(targets.seeds(name)):
        with open(os.path.join(corpus, f"seed{i}"), "wb") as f:
            f.write(seed)
    crashes = os.path.join(tempfile.gettempdir(), f"ember-fuzz-crash-{name}-")
    atheris.Setup([sys.argv[0]] + sys.argv[2:] + ["-max_len=4096",
                                                 f"-artifact_prefix={crashes}", corpus], target)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
