"""The TF 1.15 image's environment without Docker: a Python 3.7 venv built by replaying
the ``pip install`` steps of docker/Dockerfile.tf1, word for word, and run with the
image's ENV (PYTHONPATH = this checkout, TFREPRO_GYM=gym). ``tfrepro legacy --against tf1.15``
runs scripts there; ``extra`` adds packages a script needs on top (standalone Keras 2.2.4), in
a venv of its own.

    python compat_tests/tf115_env.py            # build (cached) and print its python
    $(python compat_tests/tf115_env.py) -m tfrepro run pg-tang --framework tf1 ...
      (with PYTHONPATH=. TFREPRO_GYM=gym, as the image sets them)

Python 3.7 is looked for in $TFREPRO_PYTHON37, on PATH (python3.7) and under pyenv.
The venv lives in ~/.cache/tfrepro/tf115/<hash of the steps>; pip takes the TF 1.15
wheel from ~/.cache/tfrepro/wheels when test_docker.py has downloaded it there.
"""
from __future__ import annotations

import fcntl
import glob
import hashlib
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "docker" / "Dockerfile.tf1"
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "tfrepro"
MARKER = "tfrepro-tf115.json"


def find_python37():
    """A Python 3.7 interpreter, or None."""
    cands = [os.environ.get("TFREPRO_PYTHON37"), shutil.which("python3.7")]
    cands += sorted(glob.glob(str(Path.home() / ".pyenv" / "versions" / "3.7*" / "bin" / "python3.7")))
    cands += sorted(glob.glob("/root/.pyenv/versions/3.7*/bin/python3.7"))
    for c in cands:
        if c and Path(c).exists():
            out = subprocess.run([c, "-c", "import sys, ssl, venv; print(sys.version_info[:2])"],
                                 capture_output=True, text=True)
            if out.returncode == 0 and out.stdout.strip() == "(3, 7)":
                return c
    return None


# Python 2.7's TF 1.15 side: TensorFlow 1.15.0's cp27mu wheel, with the last releases of the era's
# packages that still installed on Python 2.7 (gym 0.16.0, NumPy 1.16.6), pinned as pip resolved them
PY27_PINS = ("tensorflow==1.15.0", "gym==0.16.0", "numpy==1.16.6",
             "grpcio==1.24.3", "h5py==2.10.0",  # the last with cp27mu wheels pip 19 (pyenv's 2.7) takes
             "scipy==1.2.3", "matplotlib==2.2.5", "tqdm==4.64.1")  # as the 3.7 side has them: their last for 2.7
PY27_MARKER = "tfrepro-tf115-py27.json"


def find_python27():
    """A Python 2.7 interpreter of the UCS4 build TF 1.15's cp27mu wheel needs, or None."""
    cands = [os.environ.get("TFREPRO_PYTHON27"), shutil.which("python2.7")]
    cands += sorted(glob.glob(str(Path.home() / ".pyenv" / "versions" / "2.7*" / "bin" / "python2.7")))
    cands += sorted(glob.glob("/root/.pyenv/versions/2.7*/bin/python2.7"))
    for c in cands:
        if c and Path(c).exists():
            out = subprocess.run([c, "-c", "import sys, ssl; print('%d.%d %d' % (sys.version_info[:2] + "
                                  "(sys.maxunicode,)))"], capture_output=True, text=True)
            if out.returncode == 0 and out.stdout.strip() == "2.7 1114111":
                return c
    return None


def ensure27(python27, log=print, extra=()):
    """Install (once, cached) TF 1.15 and the era's gym and NumPy for Python 2.7 into a folder of
    their own (``pip install --target``: Python 2.7 has no venv module); return that folder, to be
    put on the interpreter's PYTHONPATH."""
    pins = list(PY27_PINS) + list(extra)
    key = hashlib.sha256(json.dumps([pins, python27]).encode()).hexdigest()[:12]
    site = CACHE / "tf115-py27" / key
    if (site / PY27_MARKER).exists():
        return site
    site.parent.mkdir(parents=True, exist_ok=True)
    with open(site.parent / f"{key}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (site / PY27_MARKER).exists():
            if site.exists():
                shutil.rmtree(site)  # an interrupted build
            log(f"building TF 1.15's Python 2.7 packages in {site} ({', '.join(pins)})")
            subprocess.run([python27, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                            "--no-warn-script-location", "--target", str(site), *pins], check=True,
                           env=image_env({"PYTHONPATH": ""}))
            (site / PY27_MARKER).write_text(json.dumps({"pins": pins, "python": python27}))
    return site


def pip_steps(dockerfile=DOCKERFILE):
    """The argument lists of every ``pip install`` in the Dockerfile's RUN instructions."""
    text = re.sub(r"\\\n", " ", dockerfile.read_text())
    steps = []
    for line in text.splitlines():
        if not line.startswith("RUN "):
            continue
        for part in line[4:].split("&&"):
            words = shlex.split(part)
            if words[:2] == ["pip", "install"]:
                steps.append(words[2:])
    return steps


def image_env(extra=None):
    """The environment variables the image sets (ENV), with this checkout as /opt/tfrepro."""
    # TF2_BEHAVIOR: importing TensorFlow 2.x sets it to 1 in its own process's environment, and
    # TF 1.15 reads it: a child that inherited it would start in eager mode
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV", "TF2_BEHAVIOR"))}
    env.update(PYTHONPATH=str(ROOT), TFREPRO_GYM="gym", MPLBACKEND="Agg", PYTHONDONTWRITEBYTECODE="1",
               TF_CPP_MIN_LOG_LEVEL="2", PIP_DISABLE_PIP_VERSION_CHECK="1")
    env.update(extra or {})
    return env


def ensure(python37, log=print, extra=()):
    """Build the venv once per set of steps; return its python."""
    steps = pip_steps() + ([list(extra)] if extra else [])
    key = hashlib.sha256(json.dumps([steps, python37]).encode()).hexdigest()[:12]
    venv = CACHE / "tf115" / key
    py = venv / "bin" / "python"
    if (venv / MARKER).exists():
        return py
    venv.parent.mkdir(parents=True, exist_ok=True)
    with open(venv.parent / f"{key}.lock", "w") as lock:  # one builder at a time (pytest -n)
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (venv / MARKER).exists():
            _build(venv, py, steps, python37, log)
    return py


def _build(venv, py, steps, python37, log):
    if venv.exists():
        shutil.rmtree(venv)  # an interrupted build
    log(f"building the TF 1.15 venv in {venv} (the pip steps of {DOCKERFILE.name})")
    subprocess.run([python37, "-m", "venv", str(venv)], check=True)
    wheels = CACHE / "wheels"
    for args in steps:
        cmd = [str(py), "-m", "pip", "install", "--quiet", *args]
        if wheels.is_dir():
            cmd[5:5] = ["--find-links", str(wheels)]
        # before the COPY of the code, as in the image: no PYTHONPATH
        subprocess.run(cmd, check=True, env=image_env({"PYTHONPATH": ""}))
    (venv / MARKER).write_text(json.dumps({"steps": steps, "python": python37}))


if __name__ == "__main__":
    p37 = find_python37()
    if not p37:
        sys.exit("no Python 3.7 found (set TFREPRO_PYTHON37)")
    print(ensure(p37, log=lambda m: print(m, file=sys.stderr)))
