"""Tier 9: ``tfrepro legacy`` on the era's whole surface, each class of construct held by a
small script of our own: gym's ids of 0.10-0.21 and its toy text, custom environments, every
module the script runs (subpackages, ``sys.path`` folders, files loaded by path), NumPy 1.x
behaviour, Python 3.7's and SciPy 1.2's removed names, notebooks, threads and processes whose
failures are never silent, and the three clean stops (``--episodes``, ``--steps``,
``--seconds``). None of these scripts imports TensorFlow: each run takes a few seconds."""
from __future__ import annotations

import textwrap

import pytest

from compat_tests.test_legacy_runner import REPORT, legacy, lines, report

ERA_ENVS = """
import gym, numpy as np
fl = gym.make('FrozenLake-v0')
print("fl=%s %d %d %d %s %s" % (fl.spec.id, fl.nS, fl.nA, len(fl.P), fl.isd.shape, fl._max_episode_steps))
fl.seed(0)
print("s0=%d" % fl.reset())
fl.render()
print("P=%r" % (fl.P[14][2],))
print("ansi=%s" % fl.render(mode='ansi').splitlines()[2])
tx = gym.make('Taxi-v2'); tx.reset()
print("taxi=%s %d %d" % (tx.spec.id, tx.nS, tx.nA))
bj = gym.make('Blackjack-v0')
print("bj=%s %s" % (bj.unwrapped.sab, type(bj.reset()).__name__))
pe = gym.make('Pendulum-v0')
print("pendulum=%s %s" % (pe.spec.id, pe.reset().shape))
cw = gym.make('CliffWalking-v0'); cw.reset()
print("cliff=%s %d" % (cw.spec.id, cw.nS))
for gone in ('NChain-v0',):
    try:
        gym.make(gone)
    except gym.error.Error as e:
        print("gone=%s" % ('removed' in str(e)))
from gym.envs.classic_control import CartPoleEnv
cp = CartPoleEnv()
o = cp.reset()
print("class=%s %s %d" % (type(o).__name__, o.dtype, len(cp.step(0))))
from gym.envs.toy_text.frozen_lake import FrozenLakeEnv
fe = FrozenLakeEnv(is_slippery=False)
print("flclass=%s" % fe.step(2)[0])
"""


def test_era_ids_toy_text_attributes_and_render(tmp_path):
    p = legacy(tmp_path, ERA_ENVS, *REPORT)
    assert p.returncode == 0, p.stderr[-3000:]
    got = lines(p)
    assert got["fl"] == "FrozenLake-v0 16 4 16 (16,) 100"  # the id the script asked for
    assert got["s0"] == "0"
    assert "FHFH\nFFFH\nHFFG" in p.stdout  # toy text's human render prints the map, as gym did
    assert got["P"].startswith("[(0.333") and "True" in got["P"]  # slip 1/3 each side; the goal ends it
    assert got["ansi"] == "FHFH"
    assert got["taxi"] == "Taxi-v2 500 6"
    assert got["bj"] == "False tuple"  # gym's rules, not gymnasium's new Sutton & Barto default
    assert got["pendulum"] == "Pendulum-v0 (3,)"
    assert got["cliff"] == "CliffWalking-v0 48"
    assert got["gone"] == "True"
    assert got["class"] == "ndarray float32 4"  # gym's own class: old API, float32 as gym 0.21's, no time limit
    assert got["flclass"] == "1"
    rep = report(tmp_path)
    assert "clips" in rep["gym.make(Pendulum-v0)"]["changes_numbers"]
    assert rep["gym.make(FrozenLake-v0)"]["changes_numbers"] in (None, "")
    assert "sab=False" in rep["gym.make(Blackjack-v0)"]["tf2"]


CUSTOM = """
import gym
from gym import spaces
from gym.envs.registration import register
from gym.envs.toy_text import discrete
import numpy as np

class Corridor(discrete.DiscreteEnv):
    def __init__(self, n=5):
        P = {s: {a: [(1.0, max(0, min(n - 1, s + (1 if a else -1))), float(s + 1 == n - 1 and a == 1),
                      s + 1 == n - 1 and a == 1)] for a in range(2)} for s in range(n)}
        isd = np.zeros(n); isd[0] = 1.0
        super(Corridor, self).__init__(n, 2, P, isd)

class Coin(gym.Env):
    def __init__(self):
        self.action_space = spaces.Discrete(2)
        self.observation_space = spaces.Discrete(1)
    def reset(self):
        return 0
    def step(self, a):
        return 0, 1.0, True, {}

register(id='Corridor-v0', entry_point=Corridor, max_episode_steps=3, kwargs={'n': 6})
register(id='Slippy-v0', entry_point='gym.envs.toy_text:FrozenLakeEnv', kwargs={'is_slippery': False})
env = gym.make('Corridor-v0')
print("str=%s" % env)
s, steps, done = env.reset(), 0, False
while not done:
    s, r, done, info = env.step(1); steps += 1
print("corridor=%d %d %s" % (s, steps, info.get("TimeLimit.truncated")))
sl = gym.make('Slippy-v0'); sl.reset()
print("slippy=%d" % sl.step(2)[0])
print("registered=%s" % ('Corridor-v0' in gym.envs.registry.env_specs))
coin = Coin()
for e in range(100):
    coin.reset(); coin.step(0)
    print("coin=%d" % e)
"""


def test_custom_environments_registered_and_counted(tmp_path):
    p = legacy(tmp_path, CUSTOM, "--episodes", 3)
    assert p.returncode == 0, p.stderr[-3000:]
    got = lines(p)
    assert got["str"] == "<TimeLimit<Corridor<Corridor-v0>>>"
    assert got["corridor"] == "3 3 True"  # the time limit of register(max_episode_steps=3)
    assert got["slippy"] == "1"
    assert got["registered"] == "True"
    # a gym.Env subclass's own reset counts for --episodes: 1 corridor + 1 slippy + 1 coin episode
    assert "coin=0" in p.stdout and "coin=1" not in p.stdout
    assert "stopped after 3 episodes (--episodes 3)" in p.stderr


MODULES = {
    "scores/__init__.py": "",
    "scores/score_logger.py": """
        import gym
        class ScoreLogger:
            def __init__(self, env_name):
                print "logger for %s" % env_name
                self.env = gym.make(env_name)
            def add(self, score):
                print "score=%d" % score
    """,
    "../lib/envs/corridor.py": """
        from gym.envs.toy_text import discrete
        import numpy as np
        class LineEnv(discrete.DiscreteEnv):
            def __init__(self):
                P = {s: {a: [(1.0, min(2, s + 1), 1.0, s == 1)] for a in range(2)} for s in range(3)}
                super(LineEnv, self).__init__(3, 2, P, np.array([1.0, 0.0, 0.0]))
    """,
    "plugins/by_path.py": """
        import numpy as np
        def ragged():
            return np.array([np.zeros(2), 1]).dtype
    """,
}


def test_every_module_of_the_script_gets_the_shims(tmp_path):
    """A Python 2 subpackage beside a Python 3 script, a library in a folder the script adds
    to sys.path (importing gym), a module loaded by file path: each sees the shims."""
    work = tmp_path / "work"
    work.mkdir()
    for name, text in MODULES.items():
        f = work / name
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_text(textwrap.dedent(text))
    script = """
        import sys, importlib.util, json
        sys.path.append("../")
        from lib.envs.corridor import LineEnv
        from scores.score_logger import ScoreLogger
        log = ScoreLogger('CartPole-v0')
        env = LineEnv()
        print("line=%s" % (env.reset(), ))
        log.add(env.step(0)[0])
        spec = importlib.util.spec_from_file_location("by_path", "plugins/by_path.py")
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        print("bypath=%s" % mod.ragged())
        print("stdlib=%s" % json.dumps([1]))
    """
    p = legacy(work, script)
    assert p.returncode == 0, p.stderr[-3000:]
    got = lines(p)
    assert "logger for CartPole-v0" in p.stdout
    assert got["line"] == "0" and got["score"] == "1"
    assert got["bypath"] == "object"
    assert got["stdlib"] == "[1]"


NUMPY1 = """
import numpy as np
from numpy import array
memory = []
memory.append(np.array([np.zeros(4), 1, 1.0, np.ones(4), False]))
print("ragged=%s %d" % (memory[0].dtype, len(memory[0])))
print("ragged2=%s" % array([[1, 2], [3]]).dtype)
q = np.array([[0.25, 0.75]])
print("int=%d float=%.2f" % (int(q.argmax(1)), float(q[:, 1])))
rewards = np.zeros(3)
rewards[0] = np.array([5.0])
rewards[1:2] = np.array([6.0])
rewards[2] += np.array([[7.0]])
print("store=%s" % rewards.tolist())
print("aliases=%s %s %s" % (np.float(1), np.int(2), np.asscalar(np.array([3]))))
print("printed=%s" % ((np.float64(1.5), np.int64(2)),))
try:
    np.array([np.zeros(2), np.zeros(3)], dtype=float)
except ValueError:
    print("dtype=kept")
try:
    float(np.array([1.0, 2.0]))
except TypeError:
    print("twoel=raises")
"""


def test_numpy1_behaviour_the_era_relied_on(tmp_path):
    p = legacy(tmp_path, NUMPY1, *REPORT)
    assert p.returncode == 0, p.stderr[-3000:]
    got = lines(p)
    assert got["ragged"] == "object 5" and got["ragged2"] == "object"
    assert got["int"] == "1 float=0.75"
    assert got["store"] == "[5.0, 6.0, 7.0]"
    assert got["aliases"] == "1.0 2 3"
    assert got["printed"] == "(1.5, 2)"  # NumPy 1.x's scalar repr, not np.float64(1.5)
    assert got["dtype"] == "kept" and got["twoel"] == "raises"  # an explicit dtype, two elements: today's errors
    rep = report(tmp_path)
    for construct in ("numpy.array(ragged)", "numpy.int(array)", "numpy.float(array)", "numpy.setitem(array)",
                      "np.float", "np.asscalar"):
        assert construct in rep, construct
    assert rep["numpy.setitem(array)"]["count"] == 2


THREADS = """
import threading, sys
def work(i):
    if i == 1:
        raise RuntimeError("worker %d failed" % i)
    print("worker %d done" % i)
ts = [threading.Thread(target=work, args=(i,)) for i in range(3)]
for t in ts: t.start()
for t in ts: t.join()
print("main done")
"""

THREAD_STOP = """
import threading, gym
def worker(k):
    env = gym.make('CartPole-v0')
    while True:  # A3C's workers: forever, until the coordinator says stop
        env.reset(); done = False
        while not done:
            _, _, done, _ = env.step(env.action_space.sample())
ts = [threading.Thread(target=worker, args=(k,)) for k in range(2)]
for t in ts: t.start()
for t in ts: t.join()
"""


def test_a_failing_thread_is_never_silent_and_stops_end_every_thread(tmp_path):
    p = legacy(tmp_path, THREADS)
    assert p.returncode == 1, (p.returncode, p.stderr[-2000:])
    assert "RuntimeError: worker 1 failed" in p.stderr  # Python's own traceback for the thread
    assert "1 thread of the script ended with an uncaught exception" in p.stderr
    assert "main done" in p.stdout
    p = legacy(tmp_path, THREAD_STOP, "--episodes", 6, timeout=120)
    assert p.returncode == 0, p.stderr[-2000:]
    assert "stopped after 6 episodes (--episodes 6)" in p.stderr
    assert "Traceback" not in p.stderr


@pytest.mark.parametrize("flag, value, needle", [("--steps", 50, "stopped after 50 environment steps (--steps 50)"),
                                                 ("--seconds", 3, "stopped after 3 s (--seconds 3)")])
def test_steps_and_seconds_stop_cleanly(tmp_path, flag, value, needle):
    script = """
        import gym, time
        env = gym.make('CartPole-v1')
        steps = 0
        try:
            env.reset()
            for i in range(10 ** 9):
                _, _, done, _ = env.step(i % 2)
                steps += 1
                if done:
                    env.reset()
                if steps > 100:
                    time.sleep(0.01)  # a batch update that takes time
        finally:
            print("steps=%d" % steps)
    """
    p = legacy(tmp_path, script, flag, value, timeout=120)
    assert p.returncode == 0, p.stderr[-2000:]
    assert needle in p.stderr
    if flag == "--steps":
        assert lines(p)["steps"] == "50"  # the 51st step is the one refused; finally blocks run


def test_a_notebook_runs_its_code_cells_in_order(tmp_path):
    """A notebook (Python 2 kernel) with IPython lines: magics and shell escapes translated by
    IPython's transformers, installs not run, --episodes as for a script, an error named by cell."""
    import nbformat
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

    nb = new_notebook(cells=[
        new_markdown_cell("# Q-learning"),
        new_code_cell("%matplotlib inline\n!pip install gym==0.10.5\nimport gym\nimport numpy as np"),
        new_code_cell("env = gym.make('FrozenLake-v0')\nQ = np.zeros([env.nS, env.nA])\nprint 'states', env.nS"),
        new_code_cell("files = !echo hello\nprint 'shell', files[0]\n%time total = sum(xrange(10))\n"
                      "print 'total', total, 7 / 2"),
        new_code_cell("for i in xrange(100):\n    s = env.reset()\n    print 'episode', i"),
    ], metadata={"kernelspec": {"name": "python2", "display_name": "Python 2", "language": "python"}})
    nbformat.write(nb, str(tmp_path / "q.ipynb"))
    import os
    import subprocess
    import sys

    from compat_tests.conftest import ROOT

    env = dict(os.environ, PYTHONPATH=str(ROOT))
    p = subprocess.run([sys.executable, "-m", "tfrepro", "legacy", "--episodes", "2", *REPORT, "q.ipynb"],
                       cwd=tmp_path, capture_output=True, text=True, timeout=120, env=env)
    assert p.returncode == 0, p.stderr[-3000:]
    assert "states 16" in p.stdout and "shell hello" in p.stdout and "total 45 3" in p.stdout
    assert "episode 1" in p.stdout and "episode 2" not in p.stdout
    assert "not run: !pip install gym==0.10.5" in p.stderr or "not run" in p.stderr
    rep = report(tmp_path)
    assert {"ipython.magic.matplotlib", "ipython.shell.output", "python2.print"} <= set(rep), sorted(rep)
    nb.cells.append(new_code_cell("x = 1\nundefined_name"))
    nb.cells[-2] = new_code_cell("print 'no loop'")
    nbformat.write(nb, str(tmp_path / "bad.ipynb"))
    p = subprocess.run([sys.executable, "-m", "tfrepro", "legacy", "bad.ipynb"], cwd=tmp_path,
                       capture_output=True, text=True, timeout=120, env=env)
    assert p.returncode == 1 and "NameError" in p.stderr and "undefined_name" in p.stderr


ERA_TYPES = """
import gym, numpy as np
import scipy.misc
fl = gym.make('FrozenLake-v0')
fl.render()  # gym's DiscreteEnv had a state when made: render before reset worked
print("n=%s %s" % (type(fl.action_space.n).__name__, type(gym.spaces.Discrete(3).n).__name__))
bj = gym.make('Blackjack-v0'); bj.seed(0)
print("ace=%s" % type(bj.reset()[2]).__name__)
img = (np.arange(48, dtype=np.float64).reshape(4, 4, 3))
small = scipy.misc.imresize(img, [2, 2])
print("imresize=%s %s %d" % (small.shape, small.dtype, small.max()))
print("gray=%s" % (scipy.misc.imresize(np.eye(4), 50, interp='nearest').shape,))
gym.logger.set_level(gym.logger.ERROR)
print("limit=%s %s" % (fl.spec.timestep_limit, fl.spec.tags['wrapper_config.TimeLimit.max_episode_steps']))
import inspect, collections, threading, random, time
def f(a, b=2, *rest, **kw): pass
print("argspec=%s" % (inspect.getargspec(f),))
print("abc=%s" % isinstance({}, collections.Mapping))
t = threading.Thread(target=lambda: None); t.start(); t.join()
print("alive=%s" % t.isAlive())
random.seed(1)
print("sample=%d" % len(random.sample(set(range(10)), 3)))
print("clock=%s" % (time.clock() >= 0))
"""


def test_era_types_and_scipy_names(tmp_path):
    p = legacy(tmp_path, ERA_TYPES, *REPORT)
    assert p.returncode == 0, p.stderr[-3000:]
    got = lines(p)
    assert got["n"] == "int int"  # gym's Discrete(n).n was a Python int (tf.contrib refuses np.int64)
    assert got["ace"] == "bool"  # gym's Blackjack said True / False for the usable ace
    shape, dtype, top = got["imresize"].rsplit(" ", 2)
    assert (shape, dtype) == ("(2, 2, 3)", "uint8") and int(top) > 47  # SciPy 1.2's: bytescaled to 0..255 first
    assert got["gray"] == "(2, 2)"
    assert got["limit"] == "100 100"  # gym 0.10's spec.timestep_limit and tags
    assert got["argspec"] == "ArgSpec(args=['a', 'b'], varargs='rest', keywords='kw', defaults=(2,))"
    assert got["abc"] == "True" and got["alive"] == "False" and got["sample"] == "3" and got["clock"] == "True"
    rep = report(tmp_path)
    for construct in ("scipy.misc.imresize", "inspect.getargspec", "collections.Mapping", "threading.Thread.isAlive",
                      "random.sample(set)", "time.clock"):
        assert construct in rep, construct


PROCESSES = """
import multiprocessing, sys, gym
def train(k):
    if k == 1:
        raise ValueError("experiment %d failed" % k)
    env = gym.make('CartPole-v0')
    for e in range(1000):
        env.reset()
    print("trained %d" % k)
if __name__ == '__main__':
    ps = [multiprocessing.Process(target=train, args=(k,)) for k in range(2)]
    for p in ps: p.start()
    for p in ps: p.join()
    print("parent done")
"""


def test_a_failing_child_process_is_never_silent(tmp_path):
    p = legacy(tmp_path, PROCESSES, "--episodes", 5, timeout=120)
    assert p.returncode == 1, (p.returncode, p.stderr[-2000:])
    assert "ValueError: experiment 1 failed" in p.stderr
    assert "stopped after 5 episodes (--episodes 5) in Process-1" in p.stderr  # the child's own clean stop
    assert "1 process of the script failed (Process-2: exit 1)" in p.stderr and "parent done" in p.stdout


def test_a_notebook_exported_to_py_keeps_its_ipython_lines(tmp_path):
    script = """
        # coding: utf-8
        get_ipython().run_line_magic('matplotlib', 'inline')  # nbconvert's own form
        %matplotlib inline
        import numpy as np
        %time x = np.arange(4).sum()
        print("x=%d" % x)
        !echo shell-ran
    """
    p = legacy(tmp_path, script, *REPORT)
    assert p.returncode == 0, p.stderr[-3000:]
    assert lines(p)["x"] == "6" and "shell-ran" in p.stdout
    assert {"ipython.magic.matplotlib", "ipython.magic.time", "ipython.shell"} <= set(report(tmp_path))


ERA_ID_LIST = ["CartPole-v0", "CartPole-v1", "MountainCar-v0", "MountainCarContinuous-v0", "Pendulum-v0",
               "Pendulum-v1", "Acrobot-v1", "FrozenLake-v0", "FrozenLake-v1", "FrozenLake8x8-v0", "FrozenLake8x8-v1",
               "Taxi-v1", "Taxi-v2", "Taxi-v3", "CliffWalking-v0", "Blackjack-v0", "Blackjack-v1", "LunarLander-v2",
               "LunarLanderContinuous-v2", "BipedalWalker-v2", "BipedalWalker-v3", "BipedalWalkerHardcore-v2",
               "BipedalWalkerHardcore-v3", "CarRacing-v0"]


def test_every_era_id_gymnasium_still_ships_runs_under_its_old_id(tmp_path):
    """gym 0.10-0.21's ids of classic control, toy text and Box2D: made, seeded, reset and
    stepped through the old API under the id the script asked for."""
    script = f"""
        import gym
        for env_id in {ERA_ID_LIST!r}:
            env = gym.make(env_id)
            env.seed(0)
            obs = env.reset()
            out = env.step(env.action_space.sample())
            print("%s=%s %d %s" % (env_id, env.spec.id == env_id, len(out), type(out[2]).__name__))
            env.close()
    """
    p = legacy(tmp_path, script, timeout=300)
    assert p.returncode == 0, p.stderr[-3000:]
    got = lines(p)
    assert {k: got.get(k) for k in ERA_ID_LIST} == {k: "True 4 bool" for k in ERA_ID_LIST}


def test_numpy1_rewrite_keeps_pythons_order_of_evaluation(tmp_path):
    """``x[k] = v`` evaluates v, then x, then k, as Python does: a value that moves the index
    stores where Python would."""
    script = """
        import numpy as np
        class Ring:
            def __init__(self):
                self.buf, self.pos = np.zeros(4), 0
            def advance(self):
                self.pos += 1
                return float(self.pos)
        r = Ring()
        r.buf[r.pos] = r.advance()
        order = []
        def log(tag, v):
            order.append(tag)
            return v
        d = {}
        log("obj", d)[log("key", "k")] = log("value", 1)
        print("buf=%s order=%s" % (r.buf.tolist(), order))
    """
    p = legacy(tmp_path, script)
    assert p.returncode == 0, p.stderr[-2000:]
    assert p.stdout.strip() == "buf=[0.0, 1.0, 0.0, 0.0] order=['value', 'obj', 'key']"
