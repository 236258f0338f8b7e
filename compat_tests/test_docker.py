"""Tier 9: The Docker images, checked statically (no Docker engine runs where this is developed):
hadolint over every Dockerfile; the versions the images pin agree with requirements.txt;
what the TF 1.15 image imports parses as Python 3.7; and every ``tf.*`` symbol the TF1
forms use exists in the TF 1.15 wheel's own v1 API (the wheel is downloaded, not
installed, and its ``_api`` module tree read)."""
from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCKER = ROOT / "docker"
TF1_WHEEL_CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "tfrepro" / "wheels"


def _req(name):
    m = re.search(rf"^{re.escape(name)}==(\S+)", (ROOT / "requirements.txt").read_text(), re.M)
    return m.group(1)


def _tool(name):
    exe = shutil.which(name) or str(Path(sys.executable).parent / name)
    if not Path(exe).exists():
        pytest.fail(f"{name} is not installed (requirements.txt installs it)")
    return exe


def test_hadolint_is_clean_on_every_dockerfile():
    files = sorted(DOCKER.glob("Dockerfile*"))
    assert [f.name for f in files] == ["Dockerfile", "Dockerfile.tf1"]
    proc = subprocess.run([_tool("hadolint"), *map(str, files)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_image_pins_agree_with_requirements():
    today = (DOCKER / "Dockerfile").read_text()
    tf = _req("tensorflow")
    # the public base by default (the Python CI and the numbers use); docker/build-local passes a local one
    assert re.search(r"^ARG BASE=python:3\.11[.\d]*-slim\S*\nFROM \$\{BASE\}$", today, re.M)
    assert re.search(rf"^ARG TF_VERSION={re.escape('.'.join(tf.split('.')[:2]))}$", today, re.M)
    assert "pip install -r requirements.txt" in today  # the default build installs the pinned set
    compose = (DOCKER / "compose.yaml").read_text()
    assert f'TF_VERSION: "{".".join(tf.split(".")[:2])}"' in compose
    assert compose.count(f"tfrepro:tf{'.'.join(tf.split('.')[:2])}") >= 3
    assert '"6006:6006"' in compose and "../results:/work/results" in compose
    tf1 = (DOCKER / "Dockerfile.tf1").read_text()
    assert re.search(r"^ARG BASE=python:3\.7[.\d]*-slim\S*\nFROM \$\{BASE\}$", tf1, re.M)
    assert re.search(r'"tensorflow-cpu==1\.15\.\d+"', tf1)
    gym = re.search(r'"gym==(\d+)\.(\d+)\.\d+"', tf1)
    assert gym and (int(gym.group(1)), int(gym.group(2))) <= (0, 21)  # the old API: 4-tuple step, seed()


def _tf1_image_modules():
    """Our modules the TF1 image imports to run a legacy_tf1 program through `tfrepro run`:
    every legacy_tf1 module and the core it imports (at any level), plus the CLI's own
    module-level imports and those of a plain `run` (records, runner, render, takeover).
    The subcommands' modules count with their module-level imports only: what their
    functions import lazily (convert, inspect: TF2 models) runs on today's stack only."""
    roots = [f"legacy_tf1.{p.stem}" for p in (ROOT / "legacy_tf1").glob("*.py")]
    roots += ["tfrepro.__main__", "tfrepro.cli", "tfrepro.infra.records", "tfrepro.infra.runner",
              "tfrepro.infra.render", "tfrepro.core.takeover", "tfrepro.core.policies",
              "tfrepro.tools.bench", "tfrepro.tools.compare", "tfrepro.tools.reproduce"]  # bench-tf115, compare
    # the CLI imports every subcommand's module at start (by name, from tfrepro.commands.NAMES)
    shallow = {f"tfrepro.commands.{p.stem}" for p in (ROOT / "tfrepro" / "commands").glob("*.py")}
    seen, todo = set(), list(roots) + sorted(shallow)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        path = ROOT / (name.replace(".", "/") + ".py")
        if not path.exists():
            path = ROOT / name.replace(".", "/") / "__init__.py"
            if not path.exists():
                continue
        seen.add(name)
        parts = name.split(".")
        todo += [".".join(parts[:i]) for i in range(1, len(parts))]  # its packages run first
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        tree = ast.parse(path.read_text())
        for node in (tree.body if name in shallow else ast.walk(tree)):
            if isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1]
                                    + ([base] if base else []))
                if base.split(".")[0] in ("tfrepro", "legacy_tf1", "modern_tf2"):
                    todo.append(base)
                    todo += [f"{base}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                todo += [a.name for a in node.names if a.name.split(".")[0] in ("tfrepro", "legacy_tf1")]
    return sorted(seen)


def test_tf1_image_code_parses_as_python_37():
    mods = _tf1_image_modules()
    assert not [m for m in mods if m.startswith("modern_tf2")], mods
    assert {"legacy_tf1.pg_tang", "tfrepro.core.envs", "tfrepro.infra.runner", "tfrepro.cli",
            "tfrepro.infra.pool", "tfrepro.commands.run", "tfrepro"} <= set(mods)
    files = [str(f) for m in mods for f in (ROOT / (m.replace(".", "/") + ".py"),
                                            ROOT / m.replace(".", "/") / "__init__.py") if f.exists()]
    proc = subprocess.run([_tool("vermin"), "--no-tips", "-t=3.7-", "--violations", *files],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]


def _tf115_wheel() -> Path:
    spec = re.search(r'"(tensorflow-cpu==1\.15\.\d+)"', (DOCKER / "Dockerfile.tf1").read_text()).group(1)
    version = spec.split("==")[1]
    TF1_WHEEL_CACHE.mkdir(parents=True, exist_ok=True)
    found = list(TF1_WHEEL_CACHE.glob(f"tensorflow_cpu-{version}-cp37-*.whl"))
    if not found:
        proc = subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:",
                               "--python-version", "3.7", "--implementation", "cp", "--abi", "cp37m",
                               "--platform", "manylinux2010_x86_64", spec, "-d", str(TF1_WHEEL_CACHE)],
                              capture_output=True, text=True, timeout=1200)
        assert proc.returncode == 0, proc.stderr[-2000:]
        found = list(TF1_WHEEL_CACHE.glob(f"tensorflow_cpu-{version}-cp37-*.whl"))
    return found[0]


def _v1_api(wheel) -> dict[str, set]:
    """module path ('' for tf itself) -> names it exports, read from the wheel's generated
    API modules: _api/v1/compat/v1 (what `import tensorflow.compat.v1 as tf` gives on 1.15)
    and the Keras API it attaches as tf.keras."""
    api: dict[str, set] = {}
    trees = {"tensorflow_core/_api/v1/compat/v1/": "", "tensorflow_core/python/keras/api/_v1/keras/": "keras"}
    with zipfile.ZipFile(wheel) as z:
        for name in z.namelist():
            for prefix, base in trees.items():
                if name.startswith(prefix) and name.endswith("/__init__.py"):
                    rel = name[len(prefix):-len("__init__.py")].strip("/").replace("/", ".")
                    mod = ".".join(x for x in (base, rel) if x)
                    names = api.setdefault(mod, set())
                    for node in ast.parse(z.read(name).decode()).body:
                        if isinstance(node, ast.ImportFrom) and node.module and not node.module.startswith("__"):
                            names.update(a.asname or a.name for a in node.names)
                    if mod:  # a submodule is a name of its parent
                        parent, _, leaf = mod.rpartition(".")
                        api.setdefault(parent, set()).add(leaf)
    return api


def _tf_chains(path):
    """Dotted chains rooted at ``tf`` (tensorflow.compat.v1) in one file."""
    tree = ast.parse(Path(path).read_text())
    chains = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute):
            parts, cur = [], node
            while isinstance(cur, ast.Attribute):
                parts.append(cur.attr)
                cur = cur.value
            if isinstance(cur, ast.Name) and cur.id == "tf":
                chains.add(".".join(reversed(parts)))
    # keep the longest chains only (tf.train.Saver, not also tf.train)
    return {c for c in chains if not any(o.startswith(c + ".") for o in chains)}


def _missing(chain, api):
    mod, parts = "", chain.split(".")
    for i, part in enumerate(parts):
        if part not in api.get(mod, set()):
            return ".".join(parts[: i + 1])
        sub = ".".join(x for x in (mod, part) if x)
        if sub not in api:  # a symbol (function, class): what follows is its own attribute
            return None
        mod = sub
    return None


@pytest.mark.xdist_group("tf115")  # the TF 1.15 wheel: one downloader (pytest -n)
def test_tf1_forms_use_only_tf115_symbols():
    api = _v1_api(_tf115_wheel())
    assert {"placeholder", "Session", "get_variable", "train", "layers", "keras"} <= api[""]
    assert "RMSPropOptimizer" in api["train"] and "Dense" in api["keras.layers"]
    used, missing = {}, {}
    for f in sorted((ROOT / "legacy_tf1").glob("*.py")):
        for chain in _tf_chains(f):
            used.setdefault(chain, []).append(f.name)
            gap = _missing(chain, api)
            if gap:
                missing[chain] = (gap, f.name)
    assert len(used) > 40, sorted(used)  # the check has material to work on
    assert not missing, missing
    # Keras 2 as the pylessons TF1 form uses it (keras2() is tf.keras on TF <= 2.15)
    for chain in ("layers.Input", "layers.Dense", "models.Model", "optimizers.RMSprop"):
        assert _missing("keras." + chain, api) is None, chain


@pytest.mark.xdist_group("tf115")  # the TF 1.15 wheel: one downloader (pytest -n)
def test_the_api_check_catches_a_tf2_only_symbol():
    api = _v1_api(_tf115_wheel())
    assert _missing("train.AdamOptimizer", api) is None
    assert _missing("summary.FileWriter", api) is None and _missing("layers.dense", api) is None
    # added in TF 2.x, so absent from 1.15: the check would name them
    assert _missing("nn.gelu", api) == "nn.gelu"
    assert _missing("keras.layers.MultiHeadAttention", api) == "keras.layers.MultiHeadAttention"


def test_compose_services_parse_and_mount_results():
    """Every compose service: its image is built by a service of the file, and a tfrepro
    command in it parses with the CLI's own parser (a typo in a flag fails here, not in the
    user's `docker compose up`); whatever writes results mounts ./results."""
    import yaml

    from tfrepro.cli import build_parser

    spec = yaml.safe_load((DOCKER / "compose.yaml").read_text())
    services = spec["services"]
    built = {s["image"] for s in services.values() if "build" in s}
    assert built == {f"tfrepro:tf{'.'.join(_req('tensorflow').split('.')[:2])}", "tfrepro:tf1.15"}
    for name, svc in services.items():
        assert svc["image"] in built, name
        # `up SERVICE` alone builds what it needs and starts nothing else
        assert "build" in svc and "depends_on" not in svc, name
        assert (ROOT / svc["build"]["dockerfile"]).exists() and svc["build"]["context"] == ".."
        cmd = svc.get("command", [])
        if cmd[:1] == ["tfrepro"] or cmd[:3] == ["python", "-m", "tfrepro"]:
            argv = cmd[1:] if cmd[0] == "tfrepro" else cmd[3:]
            try:
                args = build_parser().parse_args(argv)
            except SystemExit:
                pytest.fail(f"compose service {name}: {cmd} does not parse")
            out = getattr(args, "out", None) or getattr(args, "out_dir", None)
            if out:
                assert str(out).startswith("/work/results"), (name, out)
                assert "../results:/work/results" in svc.get("volumes", []), name
    tf1 = services["bench-tf115"]
    assert tf1["build"]["dockerfile"] == "docker/Dockerfile.tf1" and cmd_is_tf1_only(tf1["command"])


def cmd_is_tf1_only(cmd):
    """The TF 1.15 image has no TF2: a bench there must ask for the tf1 forms only."""
    return cmd[cmd.index("--frameworks") + 1:cmd.index("--frameworks") + 2] == ["tf1"] and \
        not any(c == "tf2" for c in cmd)


def test_todays_image_holds_what_the_tests_read():
    """The compose `tests` service runs compat_tests inside today's image: every top-level
    path of this checkout that the tests read is copied in and not excluded from the context."""
    copied = set()
    for line in (DOCKER / "Dockerfile").read_text().splitlines():
        if line.startswith("COPY "):
            copied.update(line.split()[1:-1])
    needed = {"README.md", "requirements.txt", "pyproject.toml", "tfrepro", "legacy_tf1", "modern_tf2",
              "compat_tests", "docker", ".ci", ".dockerignore", "docs", "mkdocs.yml", "mkdocs_hooks.py",
              "examples"}
    left_out = {"results"}  # not in the image on purpose: the tests that read it skip, saying so
    read = set(re.findall(r'ROOT / "([\w.-]+)"', "".join(p.read_text() for p in (ROOT / "compat_tests").glob("*.py"))))
    assert read <= needed | left_out, read - needed - left_out  # a test reads a path this list does not know
    assert needed <= copied, needed - copied
    ignored = {ln.strip() for ln in (ROOT / ".dockerignore").read_text().splitlines()
               if ln.strip() and not ln.startswith("#")}
    assert not needed & ignored
    assert left_out <= ignored, left_out - ignored
