"""Tier 9: The Docker images built and run, with Docker or podman: docker/build-local makes local
stand-ins for the public bases (Debian bookworm's minimal system and pyenv's CPython 3.11.7 /
3.7.16) and builds tfrepro:tf2.21 and tfrepro:tf1.15 from the unchanged Dockerfiles (inputs
unchanged: nothing rebuilt); today's image runs a short `tfrepro reproduce` into a mounted
folder the host reads, and a bounded set of the fast tests; the TF 1.15 image benches every
legacy_tf1 program in book and fast mode on TF 1.15.0 / gym 0.21.0 into a mounted folder, and
the host reads its records and `tfrepro compare`s them with the same bench on TF 2.21; the
compose file's services start their own commands, and its tensorboard service answers on
localhost:6006. Where no engine can
start a container, every test here skips with one line saying why."""
from __future__ import annotations

import functools
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

from tfrepro.infra import programs
from tfrepro.infra.records import read_json, validate

ROOT = Path(__file__).resolve().parents[1]
BUILD = ROOT / "docker" / "build-local"
# The images by the names build-local tags them with: podman stores them as localhost/tfrepro:...
# and finds them by the short name too; Docker knows the short name only
TF2, TF1 = "tfrepro:tf2.21", "tfrepro:tf1.15"
BASES = ("localhost/tfrepro-base:py3.11.7-bookworm", "localhost/tfrepro-base:py3.7.16-bookworm")
# The fast tests run inside today's image: the not-slow tests of these modules (tiers 1-3, 5, 6 and 11:
# known answers, the equivalence ladder, checkpoints, the CLI, DQN, the import graph, verdicts, the
# README), offline (--network none): 136 tests, 38 s there. The whole not-slow tier passes there too
# (382 tests), in 8 min on one process: too long for CI (docs/docker.md).
FAST_MODULES = ["test_returns.py", "test_basic_policy.py", "test_layers.py", "test_equivalence_pg.py",
                "test_checkpoints.py", "test_cli.py", "test_dqn_core.py", "test_verdicts.py", "test_readme.py"]
# Not an xdist group: pytest-xdist starts its groups first (the largest first), and on a fresh
# machine a worker would sit waiting for .ci/run's image build; the tests are safe side by side
# (the builds take a lock), and conftest.py starts them after the longest tests.
pytestmark = [pytest.mark.slow]


def _last_line(text, default="(no message)"):
    lines = [ln.strip() for ln in (text or "").strip().splitlines() if ln.strip()]
    return lines[-1][:300] if lines else default


def _probe_image(engine, env, tmp):
    """A one-binary image (this host's /usr/bin/true and the libraries it loads), imported
    from a tarball: whether a container starts needs no registry, no network, no build."""
    true = shutil.which("true") or "/usr/bin/true"
    libs = re.findall(r"(/\S+) \(0x", subprocess.run(["ldd", true], capture_output=True, text=True).stdout)
    tar = Path(tmp) / "probe.tar"
    with tarfile.open(tar, "w") as t:
        for p in [true, *libs]:
            t.add(os.path.realpath(p), arcname=p.lstrip("/"))
    with open(tar, "rb") as f:
        proc = subprocess.run([engine, "import", "-", "localhost/tfrepro-probe:latest"], stdin=f,
                              capture_output=True, text=True, env=env, timeout=120)
    return proc if proc.returncode else None


@functools.lru_cache(maxsize=None)
def _engine():
    """(engine, env, None) when docker or podman starts a container here, else (None, None, why)."""
    if shutil.which("docker") is None and shutil.which("podman") is None:
        return None, None, "neither docker nor podman is installed"
    proc = subprocess.run([str(BUILD), "--print-engine"], capture_output=True, text=True, timeout=60)
    if proc.returncode:
        return None, None, _last_line(proc.stderr)
    engine, conf = (proc.stdout.splitlines() + ["", ""])[:2]
    env = dict(os.environ, **({"CONTAINERS_CONF": conf} if conf else {}))
    with tempfile.TemporaryDirectory() as tmp:
        failed = _probe_image(engine, env, tmp)
    if failed:
        return None, None, f"{engine} import failed: {_last_line(failed.stderr)}"
    proc = subprocess.run([engine, "run", "--rm", "--network", "none", "localhost/tfrepro-probe:latest",
                           "/usr/bin/true"],
                          capture_output=True, text=True, env=env, timeout=120)
    subprocess.run([engine, "rmi", "-f", "localhost/tfrepro-probe:latest"], capture_output=True, env=env)
    if proc.returncode:
        return None, None, f"{engine} cannot start a container here: {_last_line(proc.stderr)}"
    return engine, env, None


@pytest.fixture(scope="module")
def engine():
    name, env, why = _engine()
    if name is None:
        pytest.skip(f"no container runtime: {why}")

    def run(image, *cmd, mounts=(), workdir=None, network="none", timeout=900):
        argv = [name, "run", "--rm", "--network", network]
        for host, inside in mounts:
            argv += ["-v", f"{host}:{inside}"]
        if workdir:
            argv += ["-w", workdir]
        return subprocess.run([*argv, image, *map(str, cmd)], capture_output=True, text=True, env=env,
                              timeout=timeout)

    run.name, run.env = name, env
    return run


@pytest.fixture(scope="module")
def images(engine):
    """docker/build-local, as CI runs it (cached: seconds when its inputs are unchanged)."""
    t0 = time.monotonic()
    proc = subprocess.run([str(BUILD)], capture_output=True, text=True, env=engine.env, timeout=3600)
    if proc.returncode == 3:  # a prerequisite missing (root for debootstrap, debootstrap, pyenv's Python)
        pytest.skip(f"cannot build the local bases here: {_last_line(proc.stderr)}")
    assert proc.returncode == 0, proc.stderr[-4000:]
    print(f"build-local: {time.monotonic() - t0:.0f} s", file=sys.stderr)
    return engine


def _json_line(proc):
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_build_local_builds_both_images_and_rebuilds_nothing_unchanged(images):
    """A second build-local rebuilds exactly the images whose inputs changed since the first: none
    in CI (on a machine where files are being edited, today's image, which copies in most of the
    tree, may be rebuilt: its log line says so, with the new key)."""
    def label(image):
        return subprocess.run([images.name, "image", "inspect", "--format",
                               '{{ index .Config.Labels "tfrepro.inputs" }}',
                               image], capture_output=True, text=True, env=images.env).stdout.strip()

    before = {image: label(image) for image in (*BASES, TF2, TF1)}
    t0 = time.monotonic()
    proc = subprocess.run([str(BUILD)], capture_output=True, text=True, env=images.env, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    said = dict(re.findall(r"\] (\S+): inputs (?:unchanged|changed) \((\w+)\)", proc.stderr))
    kept = set(re.findall(r"\] (\S+): inputs unchanged", proc.stderr))
    assert set(said) == {*BASES, TF2, TF1}, proc.stderr
    for image, key in said.items():
        assert (image in kept) == (key == before[image]), (image, key, before[image], proc.stderr)
    assert set(BASES) <= kept and time.monotonic() - t0 < 120, proc.stderr
    probe = ("import json, sys, platform; import tensorflow as tf; from tfrepro.core import envs; "
             "print(json.dumps([platform.python_version(), tf.__version__, envs.backend(), "
             "open('/etc/debian_version').read().strip()]))")
    py, tf, backend, debian = _json_line(images(TF2, "python", "-c", probe))
    req = (ROOT / "requirements.txt").read_text()
    assert py == "3.11.7" and debian.startswith("12")
    assert tf == re.search(r"^tensorflow==(\S+)", req, re.M).group(1) and backend == "gymnasium"
    probe37 = probe.replace("print(json.dumps([", "import gym; print(json.dumps([gym.__version__, ")
    gym, py, tf, backend, debian = _json_line(images(TF1, "python", "-c", probe37))
    assert (py, tf, gym, backend) == ("3.7.16", "1.15.0", "0.21.0", "gym") and debian.startswith("12")
    for image in (TF2, TF1):
        proc = images(image, "python", "-m", "pip", "check")
        assert proc.returncode == 0, (image, proc.stdout + proc.stderr)


def test_todays_image_reproduces_a_subset_into_a_mounted_folder(images, tmp_path):
    """`tfrepro reproduce` as a user runs the image (results mounted at /work/results): a short
    subset, 3 seeds per side; the host reads the table and every record."""
    proc = images(TF2, "tfrepro", "reproduce", "--programs", "pg-tang", "--seeds", "3",
                  "--iterations", "5", "--out-dir", "/work/results/reproduce",
                  mounts=[(tmp_path, "/work/results")])
    assert proc.returncode in (0, 1), proc.stderr[-3000:]
    out = tmp_path / "reproduce"
    summary = read_json(out / "summary.json")
    assert "pg-tang" in json.dumps(summary)
    records = sorted((out / "runs").rglob("*.json"))
    assert len(records) == 2 * 3, [r.name for r in records]  # forms x seeds
    for r in records:
        rec = validate(read_json(r), str(r))
        assert rec["versions"]["python"] == "3.11.7" and rec["versions"]["tensorflow"].startswith("2.21")
    assert (out / "index.html").exists() and list(out.glob("*.png"))


def test_fast_tests_pass_inside_todays_image(images):
    """A bounded set of the not-slow tests, run where the image keeps the checkout (/opt/tfrepro)."""
    proc = images(TF2, "python", "-m", "pytest", *[f"compat_tests/{m}" for m in FAST_MODULES], "-m", "not slow",
                  "-q", "-p", "no:cacheprovider", workdir="/opt/tfrepro", timeout=900)
    tail = proc.stdout[-3000:] + proc.stderr[-2000:]
    assert proc.returncode == 0, tail
    assert re.search(r"\b\d+ passed\b", proc.stdout) and " failed" not in proc.stdout.splitlines()[-1], tail


def test_tf115_image_benches_every_legacy_program_and_the_host_compares(images, tmp_path, cli):
    """Every legacy_tf1 program, book and fast mode, seed 0, 3 iterations, through `tfrepro bench`
    in the TF 1.15 image (results mounted); the host reads every record (TF 1.15.0, gym 0.21.0,
    Python 3.7.16), runs the same bench on TF 2.21 and `compare` pairs every row (one seed a
    side decides nothing: the rows are there, each with a verdict; test_tf115.py compares 3+3
    seeds of pg-tang, docs/docker.md 10-50). With 2 seeds this took 10 min here, with 1 seed 5."""
    names = list(programs.BUILTINS)
    args = ["bench", "--programs", *names, "--frameworks", "tf1", "--modes", "book", "fast", "--seeds", "1",
            "--iterations", "3", "--no-speed", "--workers", "2"]
    proc = images(TF1, "python", "-m", "tfrepro", *args, "--out", "/work/results/tf115.json",
                  mounts=[(tmp_path, "/work/results")], timeout=1200)
    assert proc.returncode == 0, proc.stderr[-3000:]
    bench = read_json(tmp_path / "tf115.json")
    v = bench["meta"]["versions"]
    assert (v["python"], v["tensorflow"], v["gym"]) == ("3.7.16", "1.15.0", "0.21.0") and "gymnasium" not in v
    done = set()
    for res in bench["results"]:
        rec = validate(res["record"], res["key"])
        assert rec["versions"]["tensorflow"] == "1.15.0" and rec["versions"]["gym"] == "0.21.0"
        assert rec["framework"] == "tf1" and 8 <= rec["eval_mean"] <= 500
        done.add((rec["program"], rec["mode"], rec["seed"]))
    assert done == {(n, m, 0) for n in names for m in ("book", "fast")}

    proc = cli(*args, "--out", tmp_path / "tf221.json", timeout=1200)
    assert proc.returncode == 0, proc.stderr[-3000:]
    proc = cli("compare", tmp_path / "tf115.json", tmp_path / "tf221.json", "--out-dir", tmp_path / "cmp")
    assert proc.returncode in (0, 1), proc.stderr[-3000:]
    md = (tmp_path / "cmp" / "compare.md").read_text()
    assert "BASE: TF 1.15.0 / gym 0.21.0" in md and "NEW: TF 2.21" in md and "/ gymnasium 1." in md
    verdicts = tuple(f"| {v} |" for v in ("equivalent", "inconclusive", "worse", "better"))
    for name in names:
        for mode in ("book", "fast"):
            row = [ln for ln in md.splitlines() if re.match(rf"\| {re.escape(name)}\b[^|]* \| tf1 \| {mode} \|", ln)]
            assert len(row) == 1 and row[0].endswith(verdicts), (name, mode, md)


def _compose(engine):
    """The compose command that works here: docker compose (or the standalone docker-compose),
    podman compose or podman-compose; the test skips, saying so, where there is none."""
    own = {"docker": ["docker-compose"], "podman": ["podman-compose"]}.get(engine.name)
    for cmd in ([engine.name, "compose"], own):
        if cmd and shutil.which(cmd[0]):
            if subprocess.run([*cmd, "version"], capture_output=True, env=engine.env).returncode == 0:
                return cmd
    pytest.skip(f"no compose for {engine.name} here (docker compose, docker-compose, podman compose or podman-compose)")


def test_compose_tensorboard_answers_on_localhost(images):
    compose = _compose(images)
    base = [*compose, "-f", str(ROOT / "docker" / "compose.yaml"), "-p", "tfrepro-test"]
    subprocess.run([*base, "down", "-v"], capture_output=True, env=images.env, timeout=300)  # an earlier run's
    with socket.socket() as s:
        if s.connect_ex(("127.0.0.1", 6006)) == 0:
            pytest.skip("port 6006 is taken on this host (another TensorBoard?): the compose service needs it")
    up = subprocess.run([*base, "up", "-d", "tensorboard"], capture_output=True, text=True, env=images.env,
                        timeout=600)
    try:
        assert up.returncode == 0, up.stdout[-2000:] + up.stderr[-2000:]
        status, deadline = None, time.monotonic() + 90
        direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # localhost, never a proxy
        while time.monotonic() < deadline:
            try:
                with direct.open("http://localhost:6006/", timeout=5) as r:
                    status = r.status
                    break
            except OSError as e:
                status = repr(e)
                time.sleep(2)
        assert status == 200, status
    finally:
        down = subprocess.run([*base, "down", "-v"], capture_output=True, text=True, env=images.env, timeout=300)
        if compose[0] == "podman-compose":  # it leaves the project's network behind
            subprocess.run(["podman", "network", "rm", "tfrepro-test_default"], capture_output=True, env=images.env)
    assert down.returncode == 0, down.stderr[-2000:]


def test_every_compose_service_starts_its_own_command(images):
    """Each service of compose.yaml starts with the compose tool, in its image, with its
    volumes and working folder, and runs its own command (asked for ``--help``, so that it
    ends at once and writes nothing): the entry points resolve inside the images.
    ``--no-deps``: without it podman-compose 1.0.3's ``run`` first starts every service of
    the file in the background (a whole reproduction, the whole test suite, two benches)."""
    import yaml

    compose = _compose(images)
    base = [*compose, "-f", str(ROOT / "docker" / "compose.yaml"), "-p", "tfrepro-services"]
    services = yaml.safe_load((ROOT / "docker" / "compose.yaml").read_text())["services"]
    assert len(services) >= 6
    try:
        for name, service in services.items():
            cmd = [*service["command"], "--help"]
            proc = subprocess.run([*base, "run", "--rm", "--no-deps", name, *cmd], capture_output=True, text=True,
                                  env=images.env, timeout=600)
            assert proc.returncode == 0 and "usage" in proc.stdout.lower(), \
                (name, proc.stdout[-1500:], proc.stderr[-1500:])
            ps = subprocess.run([images.name, "ps", "-q", "--filter",
                                 "label=com.docker.compose.project=tfrepro-services"],
                                capture_output=True, text=True, env=images.env)
            assert ps.stdout.strip() == "", f"{name}: other services were started: {ps.stdout}"
    finally:
        subprocess.run([*base, "down", "-v"], capture_output=True, env=images.env, timeout=300)
        if compose[0] == "podman-compose":  # it leaves the project's network behind
            subprocess.run(["podman", "network", "rm", "tfrepro-services_default"], capture_output=True,
                           env=images.env)
