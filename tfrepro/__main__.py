import os
import sys

# ``python -m tfrepro`` puts the working folder first on sys.path: a script's folder holding a
# ``signal.py`` or ``json.py`` of its own would stand in for the standard library's in this
# command. Last, the folder still finds this package's own top-level packages in a checkout.
if sys.path and sys.path[0] in ("", os.getcwd()):
    sys.path.append(sys.path.pop(0))

try:  # a Ctrl-C while the command line is imported or set up: the same one line as during the command
    from .cli import main

    code = main()
except KeyboardInterrupt:
    print("tfrepro: interrupted", file=sys.stderr)
    code = 130
sys.exit(code)
