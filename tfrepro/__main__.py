import sys

try:  # a Ctrl-C while the command line is imported or set up: the same one line as during the command
    from .cli import main

    code = main()
except KeyboardInterrupt:
    print("tfrepro: interrupted", file=sys.stderr)
    code = 130
sys.exit(code)
