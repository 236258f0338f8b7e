"""Quieting TensorFlow at an entry point (the CLI, a worker process, the legacy runner):
process-wide, so never called from library code that a user imports."""
from __future__ import annotations

import logging
import os
import sys
import warnings


def quiet_tensorflow():
    """Entry-point only: TensorFlow's C++ logs below ERROR off, its Python deprecation
    notes off (the TF1 programs use deprecated symbols on purpose), CUDA probing off on
    machines without an NVIDIA device, and the banner TensorFlow prints on import muted.
    ``TFREPRO_TF_LOGS=1`` keeps all of it."""
    if os.environ.get("TFREPRO_TF_LOGS") == "1":
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if not os.path.exists("/dev/nvidia0"):
        os.environ.setdefault("CUDA_VISIBLE_DEVICES", "-1")

    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    warnings.filterwarnings("ignore", message=".*is deprecated.*")
    # tf-keras in a TF1 graph (pylessons) warns on every predict graph it builds
    warnings.filterwarnings("ignore", message="`Model.state_updates` will be removed")
    if "tensorflow" in sys.modules:
        return
    saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        import tensorflow  # noqa: F401  (absl logs its banner before any setting applies)
    except ImportError:
        pass  # reported, with its message, where the program imports it
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)
