"""Tier 11 (the house): the package's import graph, read with ``ast`` (nothing is imported).

Imports run one way, down: ``core`` (framework-free) <- ``infra`` (plumbing) and ``engines``
(what runs many seeds of a built-in) <- the twins
(``legacy_tf1``, ``modern_tf2``) <- ``tools`` (what subcommands drive) <- ``commands`` (one per
subcommand) <- ``cli``. No circle anywhere (function-level imports included), no private name
(``_x``) imported across modules, nothing imports the CLI, and a command never imports another.
"""
from __future__ import annotations

import ast
import re
import importlib
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("tfrepro", "legacy_tf1", "modern_tf2")
RANK = {"tfrepro.core": 0, "tfrepro.infra": 1, "tfrepro.engines": 1, "legacy_tf1": 2, "modern_tf2": 2,
        "tfrepro.tools": 3,
        "tfrepro.commands": 4, "tfrepro.cli": 5, "tfrepro.__main__": 6}


def _modules() -> dict[str, Path]:
    out = {}
    for pkg in PACKAGES:
        for path in (ROOT / pkg).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            out[name] = path
    return out


MODULES = _modules()


def _imports(name: str, path: Path):
    """(imported module, imported names, line) for every import of ours in a module, at any depth."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(up + ([base] if base else []))
            if base.split(".")[0] not in PACKAGES:
                continue
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                if sub in MODULES:  # `from pkg import module`
                    yield sub, [], node.lineno
                else:
                    yield base, [alias.name], node.lineno
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] in PACKAGES:
                    yield alias.name, [], node.lineno


GRAPH = {name: sorted({m for m, _, _ in _imports(name, path)}) for name, path in MODULES.items()}


def _rank(module: str):
    for prefix in sorted(RANK, key=len, reverse=True):
        if module == prefix or module.startswith(prefix + "."):
            return RANK[prefix]
    return None


def test_every_import_names_a_module_that_exists():
    missing = [f"{m} imports {t}" for m, ts in GRAPH.items() for t in ts
               if t not in MODULES and t.split(".")[0] in PACKAGES]
    assert not missing, missing


def test_no_import_circle():
    """Tarjan's strongly connected components: any component of two or more modules (or a
    module importing itself) is a circle."""
    index, low, stack, on, circles, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in GRAPH.get(v, []):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1 or v in GRAPH.get(v, []):
                circles.append(sorted(comp))

    sys.setrecursionlimit(10_000)
    for v in sorted(GRAPH):
        if v not in index:
            visit(v)
    assert not circles, circles


def test_no_private_name_crosses_a_module_boundary():
    bad = [f"{name}:{line} imports {n} from {mod}" for name, path in MODULES.items()
           for mod, names, line in _imports(name, path) for n in names
           if n.startswith("_") and not n.startswith("__") and mod != name]
    assert not bad, bad


def test_imports_run_down_the_layers():
    bad = []
    for name, targets in GRAPH.items():
        r = _rank(name)
        for t in targets:
            rt = _rank(t)
            if r is None or rt is None:
                continue
            if rt > r:
                bad.append(f"{name} (layer {r}) imports {t} (layer {rt})")
            if t == "tfrepro.cli" and name != "tfrepro.__main__":
                bad.append(f"{name} imports the CLI")
            if (name.startswith("tfrepro.commands.") and t.startswith("tfrepro.commands.")
                    and t != "tfrepro.commands.argtypes" and name != t):
                bad.append(f"{name} imports another command, {t}")
    assert not bad, bad


FRAMEWORKS_OF_ML = ("tensorflow", "keras", "tf_keras", "jax", "torch")
PROGRAM_WORDS = ("tang", "geron", "meertens", "pylessons", "imitation")


def _third_party_imports(path: Path):
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            yield from (a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and not node.level:
            yield (node.module or "").split(".")[0]


def test_core_keeps_its_word():
    """``core`` imports no framework (at any depth), takes no TensorFlow module as a
    parameter, and names no program in a function or class: program drivers live in
    ``engines`` (``configs``, the sources' published defaults, is the one module of program
    data)."""
    bad = []
    for name, path in MODULES.items():
        if not name.startswith("tfrepro.core."):
            continue
        bad += [f"{name} imports {m}" for m in _third_party_imports(path) if m in FRAMEWORKS_OF_ML]
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                args = [a.arg for a in node.args.args] if isinstance(node, ast.FunctionDef) else []
                if "tf" in args:
                    bad.append(f"{name}.{node.name} takes a TensorFlow module")
                if name != "tfrepro.core.configs" and any(w in node.name.lower() for w in PROGRAM_WORDS):
                    bad.append(f"{name}.{node.name} names a program")
    assert not bad, bad


def test_engines_import_core_only():
    bad = [f"{name} imports {t}" for name, targets in GRAPH.items() if name.startswith("tfrepro.engines")
           for t in targets if not t.startswith(("tfrepro.core", "tfrepro.engines"))]
    assert not bad, bad


def test_the_package_init_imports_none_of_its_modules():
    """``import tfrepro`` stays cheap and below everything: no TensorFlow, no layer."""
    assert GRAPH["tfrepro"] == []


def test_one_module_per_subcommand_and_the_cli_only_assembles():
    from tfrepro import commands
    from tfrepro.cli import build_parser, command_modules

    files = {p.stem for p in (ROOT / "tfrepro" / "commands").glob("*.py")} - {"__init__", "argtypes"}
    assert set(commands.NAMES) == files
    for name, module in command_modules().items():
        assert callable(module.add_parser) and callable(module.main), name
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    assert list(sub.choices) == list(commands.NAMES)
    cli_defs = [n.name for n in ast.parse((ROOT / "tfrepro" / "cli.py").read_text()).body
                if isinstance(n, ast.FunctionDef)]
    assert not [d for d in cli_defs if d.startswith("cmd_")], cli_defs


def test_every_imported_name_exists():
    """Each ``from ours import name`` (at any depth, function bodies included) names something
    the module has: a move that left a caller behind fails here, not in a user's run."""
    missing = []
    for name, path in MODULES.items():
        for mod, names, line in _imports(name, path):
            if not names or mod.split(".")[0] not in PACKAGES:
                continue
            module = importlib.import_module(mod)
            missing += [f"{name}:{line}: {mod}.{n}" for n in names if not hasattr(module, n)]
    assert not missing, missing


def test_ruff_is_clean():
    """The lint of pyproject.toml's ``[tool.ruff]`` (pycodestyle, pyflakes, bugbear) over the
    package, its twins, tests, tools and benchmarks: no finding."""
    import shutil

    exe = shutil.which("ruff") or str(Path(sys.executable).parent / "ruff")
    if not Path(exe).exists():
        pytest.fail("ruff is not installed (requirements.txt installs it)")
    proc = subprocess.run([exe, "check", "--no-cache", "--output-format", "concise", str(ROOT)],
                          capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-1000:]


@pytest.mark.slow  # mypy over a hundred files, about 20 s: CI runs it, the inner loop need not
def test_mypy_is_clean():
    """The type check of pyproject.toml's ``[tool.mypy]`` (the package and the twins): no error.
    Each ``Any``-typed container and each version-conditional definition it would question is
    annotated or marked where it stands."""
    exe = Path(sys.executable).parent / "mypy"
    if not exe.exists():
        pytest.fail("mypy is not installed (requirements.txt installs it)")
    proc = subprocess.run([str(exe), "--no-incremental", "--no-error-summary"], capture_output=True, text=True,
                          cwd=ROOT)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-1000:]


def test_the_floor_plan_names_every_module_and_folder():
    """docs/layout.md's floor plan names every module of the package's layers and every folder
    of the repository, so that a reader finds each one there."""
    plan = (ROOT / "docs" / "layout.md").read_text()
    plan = plan[plan.index("```\ntfrepro/"):]
    plan = plan[: plan.index("```\n", 4)]
    words = set(re.findall(r"[A-Za-z0-9_.]+", plan))
    missing = []
    for layer in ("core", "infra", "engines", "tools", "tools/legacy", "commands"):
        for f in sorted((ROOT / "tfrepro" / layer).glob("*.py")):
            if f.stem != "__init__" and f.stem not in words:
                missing.append(f"tfrepro/{layer}/{f.name}")
    try:  # the repository's folders, where this is a git checkout (an image keeps no .git)
        tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True).stdout.split()
    except OSError:
        tracked = []
    for top in sorted({t.split("/")[0] for t in tracked if "/" in t}):
        if f"{top}/" not in plan and top not in words:
            missing.append(top + "/")
    assert not missing, f"docs/layout.md's floor plan does not name: {', '.join(missing)}"
