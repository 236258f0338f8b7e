"""``python -m tfrepro.tools.legacy_boot``: the child of ``tfrepro legacy`` (``tfrepro.tools.legacy.boot``)."""
import sys

from .legacy.boot import main

if __name__ == "__main__":
    sys.exit(main())
