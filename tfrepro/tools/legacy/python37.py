"""Python 3.7's standard library as the TF1 era's scripts used it, where Python 3.8-3.11
removed or tightened a name: each answers again, and each use is noted for ``--report`` with
what to write today.

* ``time.clock`` (removed in 3.8): ``time.process_time``, what it measured on Unix;
* ``inspect.getargspec`` (removed in 3.11): ``ArgSpec(args, varargs, keywords, defaults)``
  from ``getfullargspec``;
* ``collections.Mapping``, ``Iterable``, ``Sequence``... (the ABC aliases removed in 3.10);
* ``threading.Thread.isAlive`` (removed in 3.9);
* ``random.sample`` of a set or a dict's keys (refused since 3.11): sampled from ``tuple(...)``
  as 3.7 did; in a Python 2 script, of anything with ``len()`` and indexing (a NumPy array), as
  2.7 did;
* ``fractions.gcd`` (removed in 3.9), ``base64.encodestring`` / ``decodestring`` (3.9).
"""
from __future__ import annotations

from . import py2
from .migration import MAP, note

_DONE: list = []


def _alias(module, name, value, construct, today):
    if hasattr(module, name):
        return
    MAP[construct] = (today, None)

    def noted(*args, **kwargs):
        note(construct, "python")
        return value(*args, **kwargs)

    noted.__name__ = noted.__qualname__ = name
    noted.__doc__ = getattr(value, "__doc__", None)
    setattr(module, name, noted)


def install():
    """Put the names back (once, before the script runs)."""
    if _DONE:
        return
    _DONE.append(True)
    import base64
    import collections
    import collections.abc
    import fractions
    import inspect
    import math
    import random
    import threading
    import time

    _alias(time, "clock", time.process_time, "time.clock",
           "time.process_time() (or time.perf_counter() for wall time; removed in Python 3.8)")
    ArgSpec = collections.namedtuple("ArgSpec", "args varargs keywords defaults")

    def getargspec(func):
        spec = inspect.getfullargspec(func)
        return ArgSpec(spec.args, spec.varargs, spec.varkw, spec.defaults)

    _alias(inspect, "getargspec", getargspec, "inspect.getargspec",
           "inspect.getfullargspec(f) (or inspect.signature; removed in Python 3.11)")
    _alias(fractions, "gcd", math.gcd, "fractions.gcd", "math.gcd (removed in Python 3.9)")
    _alias(base64, "encodestring", base64.encodebytes, "base64.encodestring", "base64.encodebytes (Python 3.9)")
    _alias(base64, "decodestring", base64.decodebytes, "base64.decodestring", "base64.decodebytes (Python 3.9)")
    if not hasattr(threading.Thread, "isAlive"):
        MAP["threading.Thread.isAlive"] = ("thread.is_alive() (removed in Python 3.9)", None)

        def isAlive(self):  # noqa: N802 - the name Python 3.8 had
            note("threading.Thread.isAlive", "python")
            return self.is_alive()

        threading.Thread.isAlive = isAlive
    for name in collections.abc.__all__:  # collections.Mapping & co, removed in 3.10
        if not hasattr(collections, name):
            MAP[f"collections.{name}"] = (f"collections.abc.{name} (removed from collections in Python 3.10)", None)
    abc_names = set(collections.abc.__all__)
    real_getattr = getattr(collections, "__getattr__", None)

    def collections_getattr(name):
        if name in abc_names:
            note(f"collections.{name}", "python")
            return getattr(collections.abc, name)
        if real_getattr is not None:
            return real_getattr(name)
        raise AttributeError(f"module 'collections' has no attribute '{name}'")

    collections.__getattr__ = collections_getattr
    real_sample = random.Random.sample
    MAP["random.sample(set)"] = ("random.sample(sorted(population), k): sets and dict views are refused since "
                                 "Python 3.11 (3.7 sampled from tuple(population), in the set's iteration order)",
                                 None)

    MAP["random.sample(array)"] = ("random.sample(list(population), k), or rng.choice(population, k, "
                                   "replace=False): Python 3 takes sequences only; Python 2.7 took anything with "
                                   "len() and indexing (a NumPy array)", None)

    def sample(self, population, k, **kwargs):
        if isinstance(population, (collections.abc.Set, collections.abc.KeysView, collections.abc.ValuesView)):
            note("random.sample(set)", "python")
            population = tuple(population)
        elif (not isinstance(population, collections.abc.Sequence) and hasattr(population, "__len__")
              and hasattr(population, "__getitem__") and py2.PYTHON2):
            note("random.sample(array)", "python")  # a Python 2 script: 2.7's sample indexed it
            population = list(population)
        return real_sample(self, population, k, **kwargs)

    sample.__doc__ = real_sample.__doc__
    random.Random.sample = sample
    random.sample = random._inst.sample
