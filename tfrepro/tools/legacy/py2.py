"""Python 2 scripts, read the way Python 2 read them: the script's own files are
translated when they load, by ``fissix`` (the maintained fork of lib2to3, whose fixers
are 2to3's), then compiled.

* A file that Python 3 cannot compile (``print`` statements, ``except E, e``, backticks,
  tabs mixed into indentation...) gets 2to3's default fixers, less ``fix_import`` (a
  script is run as ``__main__``, and its sibling modules are top-level imports, as they
  were for it), and Python 2's integer division: ``a / b`` on two integers (Python ints,
  NumPy integers or integer arrays) floors, unless the file has
  ``from __future__ import division``.
* A file that compiles but still uses Python 2 names (``xrange``, ``raw_input``,
  ``cPickle``, ``dict.iteritems``, ``unicode``...) gets only the fixers for the names it
  uses, found in its syntax tree; a Python 3 file that uses none is left as it is.

Tabs mixed into indentation are first expanded to Python 2's 8-column stops (Python 3
refuses the mix). Each fixer that changed a line is noted for ``--report`` at that line.
"""
from __future__ import annotations

import ast
import builtins
import io
import tokenize

import numpy as np

from . import numpy1
from .migration import note

SKIP = {"fix_import", "fix_buffer", "fix_idioms", "fix_set_literal", "fix_ws_comma"}
NAME_FIXERS = {  # a Python 2 builtin used by name -> its fixer
    "xrange": "fix_xrange", "raw_input": "fix_raw_input", "unicode": "fix_unicode",
    "unichr": "fix_unicode", "long": "fix_long", "basestring": "fix_basestring",
    "reduce": "fix_reduce", "intern": "fix_intern", "execfile": "fix_execfile", "apply": "fix_apply",
    "getcwdu": "fix_getcwdu", "StandardError": "fix_standarderror", "reload": "fix_reload",
}
ATTR_FIXERS = {"iteritems": "fix_dict", "itervalues": "fix_dict", "iterkeys": "fix_dict",
               "viewitems": "fix_dict", "viewkeys": "fix_dict", "viewvalues": "fix_dict",
               "has_key": "fix_has_key", "xreadlines": "fix_xreadlines", "getcwdu": "fix_getcwdu"}


def expand_mixed_tabs(source: str):
    """Indentation that mixes tabs and spaces, expanded the way Python 2 read it."""
    lines = source.splitlines(True)
    indents = [ln[: len(ln) - len(ln.lstrip(" \t"))] for ln in lines]
    if not (any("\t" in i for i in indents) and any(" " in i for i in indents)):
        return source, False
    return "".join(i.expandtabs(8) + ln[len(i):] for i, ln in zip(indents, lines)), True


def python2_names(tree) -> set[str]:
    """Fixers for the Python 2 names a compilable file uses (names read and never bound
    in the file, attributes, and imports of renamed modules)."""
    from fissix.fixes.fix_imports import MAPPING

    bound: set = set()
    read: set = set()
    fixers: set = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            (bound if isinstance(node.ctx, ast.Store) else read).add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef)):
            bound.add(node.name)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, ast.Attribute) and node.attr in ATTR_FIXERS:
            fixers.add(ATTR_FIXERS[node.attr])
        elif isinstance(node, ast.Import):
            if any(a.name.split(".")[0] in MAPPING for a in node.names):
                fixers.add("fix_imports")
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] in MAPPING:
            fixers.add("fix_imports")
    for name in read - bound:
        if name in NAME_FIXERS and not hasattr(builtins, name):
            fixers.add(NAME_FIXERS[name])
    return fixers


def _refactor(source: str, path: str, fixers) -> str:
    from fissix import refactor

    tool = refactor.RefactoringTool([f"fissix.fixes.{f}" for f in sorted(fixers)])
    for fixer in tool.pre_order + tool.post_order:
        name = type(fixer).__module__.rpartition(".")[2]
        orig = fixer.transform

        def transform(node, results, _orig=orig, _name=name):
            line, before, parent = node.get_lineno(), str(node), node.parent  # before any change
            new = _orig(node, results)
            changed = (new is not None and new is not node) or str(node) != before or node.parent is not parent
            if changed and line:
                note(f"python2.{_name[4:]}", "python2", where=(path, line))
            return new

        fixer.transform = transform
    return str(tool.refactor_string(source if source.endswith("\n") else source + "\n", path))


class _Py2Division(ast.NodeTransformer):
    """``a / b`` -> ``__tfrepro_py2_div__(a, b)``; ``x /= y`` likewise."""

    def visit_BinOp(self, node):
        self.generic_visit(node)
        if isinstance(node.op, ast.Div):
            return ast.copy_location(ast.Call(ast.Name("__tfrepro_py2_div__", ast.Load()),
                                              [node.left, node.right], []), node)
        return node

    def visit_AugAssign(self, node):
        self.generic_visit(node)
        if not isinstance(node.op, ast.Div):
            return node
        load = _as_load(node.target)
        call = ast.Call(ast.Name("__tfrepro_py2_div__", ast.Load()), [load, node.value], [])
        return ast.copy_location(ast.Assign([node.target], call), node)


def _as_load(target):
    new = ast.parse(ast.unparse(target), mode="eval").body
    return ast.fix_missing_locations(ast.copy_location(new, target))


def py2_div(a, b):
    """Python 2's ``/``: floor division when both sides are integers."""
    __tracebackhide__ = True  # the script's own division: a ZeroDivisionError is the script's

    def integral(x):
        if isinstance(x, (bool, int, np.integer)):
            return True
        return isinstance(x, np.ndarray) and x.dtype.kind in "iub"

    if integral(a) and integral(b):
        out = a // b
        if np.any(out * b != a):
            note("python2.integer-division", "python2")
        return out
    return a / b


PYTHON2: list = []  # set when the script itself is Python 2: then so are the modules beside it


def compile_script(source: str, path: str, main: bool = False, python2: bool = False):
    """The code object of one of the script's files (``script_tree``, compiled). A text Python
    cannot take at all (nested beyond its parser's depth, a 5,000-digit literal, binary junk) is
    a SyntaxError naming the file, which the runner reports in one line."""
    try:
        return compile(script_tree(source, path, main, python2), path, "exec")
    except (ValueError, RecursionError, MemoryError) as e:
        why = (str(e).splitlines() or [""])[0][:120] or type(e).__name__
        raise SyntaxError(f"cannot be read as Python ({type(e).__name__}: {why})", (path, 1, 0, "")) from None


def script_tree(source: str, path: str, main: bool = False, python2: bool = False):
    """The syntax tree of one of the script's files, Python 2 or 3. A module beside a
    Python 2 script is read as Python 2 even where its text is also valid Python 3
    (``x / 2`` there is Python 2's division)."""
    source, tabs = expand_mixed_tabs(source)
    if tabs:
        note("python2.tabs", "python2", where=(path, 1))
    py3_error = None
    try:
        tree = ast.parse(source, path)
    except SyntaxError as e:
        tree, py3_error = None, e
    if main and (tree is None or python2):  # python2: a notebook with a Python 2 kernel
        PYTHON2.append(True)
    if tree is not None and not PYTHON2:  # Python 3
        fixers = python2_names(tree)
        if fixers:
            tree = ast.parse(_refactor(source, path, fixers), path)
        return numpy1.transform(tree)
    from fissix import refactor

    fixers = {f.rpartition(".")[2] for f in refactor.get_fixers_from_package("fissix.fixes")} - SKIP
    original = source
    try:
        source = _refactor(source, path, fixers)
    except Exception as e:  # noqa: BLE001 - fissix's parse errors: report Python 3's own, with its line
        where = (path, getattr(py3_error, "lineno", None) or 1, getattr(py3_error, "offset", None) or 0,
                 getattr(py3_error, "text", None) or "")
        why = getattr(py3_error, "msg", None) or str(e)[:120]
        raise SyntaxError(f"neither Python 3 nor Python 2 ({why})", where) from None
    tree = ast.parse(source, path)
    if "division" not in refactor._detect_future_features(original):
        tree = ast.fix_missing_locations(_Py2Division().visit(tree))
        vars(builtins)["__tfrepro_py2_div__"] = py2_div
    return numpy1.transform(tree)


def read_source(path: str) -> str:
    with open(path, "rb") as f:
        data = f.read()
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError:
        encoding = "latin-1"  # Python 2 read undeclared bytes as they came
    return data.decode(encoding, errors="replace")
