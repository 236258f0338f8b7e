"""Jobs for the Ray cluster tests, importable by the cluster's workers (compat_tests/test_ray_cluster.py)."""
import os


def crash_on_two(x):
    """A job whose worker dies (as an out-of-memory kill would) when x is 2; else 10 x."""
    if x == 2:
        os._exit(3)
    return x * 10
