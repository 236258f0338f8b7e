import os
import sys

# ``python -m tfrepro`` puts the working folder first on sys.path: a script's folder holding a
# ``signal.py`` or ``json.py`` of its own would stand in for the standard library's in this
# command. Last, the folder still finds this package's own top-level packages in a checkout.
if sys.path and sys.path[0] in ("", os.getcwd()):
    sys.path.append(sys.path.pop(0))

import signal

# A Ctrl-C while the command line is imported or set up is the same one line as during the
# command. It may arrive inside a C extension's own import (numpy's ``PyCapsule_Import`` of
# ``datetime``), which turns it into an ImportError of its own, the KeyboardInterrupt lost: so
# the handler notes that one came, and any error after it (but a chosen exit) is the interrupt.
INTERRUPTED: list = []


def _interrupt(signum, frame):
    INTERRUPTED.append(signum)
    raise KeyboardInterrupt


if signal.getsignal(signal.SIGINT) is signal.default_int_handler:  # never where Ctrl-C is ignored
    signal.signal(signal.SIGINT, _interrupt)
try:
    from .cli import main

    code = main()
except SystemExit:
    raise
except BaseException as e:
    if not (INTERRUPTED or isinstance(e, KeyboardInterrupt)):
        raise
    print("tfrepro: interrupted", file=sys.stderr)
    code = 130
sys.exit(code)
