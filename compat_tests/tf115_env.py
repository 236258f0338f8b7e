"""The TF 1.15 image's environment as a Python 3.7 venv (``tfrepro.infra.tf115``, which
``tfrepro legacy --against tf1.15`` uses too).

    python compat_tests/tf115_env.py            # build (cached) and print its python
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tfrepro.infra.tf115 import (CACHE, DOCKERFILE, MARKER, ROOT, ensure, find_python37,  # noqa: E402,F401
                                 image_env, pip_steps)

if __name__ == "__main__":
    p37 = find_python37()
    if not p37:
        sys.exit("no Python 3.7 found (set TFREPRO_PYTHON37)")
    print(ensure(p37, log=lambda m: print(m, file=sys.stderr)))
