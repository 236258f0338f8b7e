"""Notebooks and IPython syntax for ``tfrepro legacy``: a ``.ipynb`` file (nbformat 3 or 4)
runs as one script made of its code cells, and IPython's own syntax in it (``%matplotlib
inline``, ``%time``, ``%%time``, ``!pip install``, ``files = !ls``, ``obj?``, ``%pylab``)
is translated by IPython's own transformers into calls on ``get_ipython()``, answered by a
small shell (``install``) that does in a script what the notebook did.

* ``notebook_source(path)``: the code cells joined, each after a ``# In[N]:`` line, with a
  line map so that line L of the joined source is reported as "cell K line M"
  (``where``). Cells are numbered as the notebook orders them, from 1, markdown and raw
  cells included (they are skipped, not renumbered).
* ``translate(source, path)``: cell by cell (split at the ``# In[`` lines), each logical line
  that IPython's ``TransformerManager`` turns into a ``get_ipython()`` call is replaced by
  that call, on the same line (continuation lines and a cell magic's body become blank
  lines); every other line is left byte for byte as it was, even where IPython would
  change it (a leading indent, ``>>>`` prompts). Each translated line is noted for
  ``--report``.
* ``install(namespace)``: ``get_ipython()`` in builtins and the namespace, and
  ``display``. Installers (``!pip install``, ``%pip``, ``!apt-get``, ``!conda``, ``sudo``)
  are never run: one line says so. Other shell commands run through ``/bin/sh``.
  A magic outside the covered set ends the run with one line (``NotCovered``).
"""
from __future__ import annotations

import ast
import builtins
import io
import os
import shlex
import subprocess
import sys
import time
import tokenize
import warnings

from IPython.core.inputtransformer2 import TransformerManager, cell_magic, leading_empty_lines, make_tokens_by_line

from .migration import MAP, note
from .state import NotCovered

GI = "get_ipython()"

for _key, _value in {  # what each IPython construct is in a plain Python script
    "ipython.magic.matplotlib": ("nothing in a script (matplotlib's Agg backend here; plt.savefig to keep figures)",
                                 None),
    "ipython.magic.pylab": (("import numpy as np; import matplotlib.pyplot as plt (and the names used, "
                             "imported by name)"), None),
    "ipython.magic.time": ("t0 = time.perf_counter(); ...; print(time.perf_counter() - t0)", None),
    "ipython.cellmagic.time": ("t0 = time.perf_counter(); ...; print(time.perf_counter() - t0)", None),
    "ipython.magic.timeit": ("timeit.timeit(stmt, number=n) (here the statement ran once)", None),
    "ipython.cellmagic.timeit": ("timeit.timeit(stmt, number=n) (here the cell ran once)", None),
    "ipython.cellmagic.capture": ("contextlib.redirect_stdout / redirect_stderr into io.StringIO()", None),
    "ipython.magic.load_ext": ("nothing in a script", None),
    "ipython.magic.reload_ext": ("nothing in a script", None),
    "ipython.magic.autoreload": ("nothing in a script (importlib.reload where a module must be reloaded)", None),
    "ipython.magic.aimport": ("import (importlib.reload where a module must be reloaded)", None),
    "ipython.magic.config": ("nothing in a script", None),
    "ipython.magic.env": ("os.environ[name] = value / os.environ.get(name)", None),
    "ipython.magic.cd": ("os.chdir(path)", None),
    "ipython.magic.pwd": ("os.getcwd()", None),
    "ipython.magic.run": ("runpy.run_path(path, run_name='__main__') (or import it)", None),
    "ipython.magic.pip": ("pip install it before running (requirements.txt): a script does not install", None),
    "ipython.magic.conda": ("conda install it before running (environment.yml): a script does not install",
                            None),
    "ipython.shell.install": ("install it before running (requirements.txt): a script does not install", None),
    "ipython.shell.output": ("subprocess.run(cmd, shell=True, capture_output=True, text=True).stdout.splitlines()",
                             None),
    "ipython.shell": ("subprocess.run(cmd, shell=True)", None),
    "ipython.help": ("help(obj) (or print(obj.__doc__))", None),
    "ipython.not-run": ("install what the script needs before running it: the command was not run here", None),
    "ipython.no-op.*": ("nothing: the magic did nothing in this run", None),
    "ipython.magic.*": ("its plain Python equivalent (tfrepro legacy's IPython shim does not cover it)", None),
    "ipython.cellmagic.*": ("its plain Python equivalent (tfrepro legacy's IPython shim does not cover it)", None),
    "ipython.*": ("its plain Python equivalent", None),
}.items():
    MAP.setdefault(_key, _value)

_TM = TransformerManager()
INSTALLERS = {"pip", "conda", "mamba", "apt", "apt-get", "sudo", "easy_install"}
NO_OPS = {"load_ext", "reload_ext", "unload_ext", "autoreload", "aimport", "config"}


# -- notebooks ---------------------------------------------------------------------------------
def is_notebook(path) -> bool:
    return str(path).lower().endswith(".ipynb")


MAX_NOTEBOOK_BYTES = 256 * 2**20


def _read(path):
    """The notebook at ``path`` as nbformat 4 (nbformat 3 upgraded by ``nbformat.convert``), or one
    UsageError naming the file: whatever nbformat raises on a file it cannot read (truncated,
    not UTF-8, not JSON, nested too deeply, not a notebook, an unknown nbformat version)."""
    import nbformat

    from ...core.errors import UsageError

    try:
        with open(path, "rb") as f:
            data = f.read(MAX_NOTEBOOK_BYTES + 1)
        if len(data) > MAX_NOTEBOOK_BYTES:
            raise ValueError(f"larger than {MAX_NOTEBOOK_BYTES >> 20} MB")
        with warnings.catch_warnings():  # missing cell ids and other validation notes
            warnings.simplefilter("ignore")
            return nbformat.reads(data.decode("utf-8-sig"), as_version=4)
    except RecursionError:
        raise UsageError(f"{path}: not a notebook nbformat can read (JSON nested too deeply)") from None
    except Exception as e:  # noqa: BLE001 - nbformat on the user's file raises many kinds, each one line here
        why = (str(e).splitlines() or [type(e).__name__])[0][:160]
        raise UsageError(f"{path}: not a notebook nbformat can read ({type(e).__name__}: {why})") from None


def notebook_source(path) -> tuple[str, list[tuple[int, int, int]]]:
    """The code cells, in order, each after a ``# In[N]:`` line (N: its execution count, or
    its cell number K when it has none), and the line map: ``(K, first line, number of
    lines)`` per code cell, K counting every cell of the notebook from 1."""
    nb = _read(path)
    parts, line_map, line = [], [], 1
    for k, cell in enumerate(nb.cells, start=1):
        if cell.cell_type != "code":
            continue
        src = cell.source
        if src and not src.endswith(("\n", "\r")):
            src += "\n"
        n = len(_lines(src))
        count = cell.get("execution_count")
        parts.append(f"# In[{count if count is not None else k}]:\n" + src)
        line_map.append((k, line + 1, n))
        line += 1 + n
    return "".join(parts), line_map


def notebook_python2(path) -> bool:
    """Whether the notebook was written for a Python 2 kernel (kernelspec or language_info)."""
    meta = _read(path).metadata
    spec, info = meta.get("kernelspec") or {}, meta.get("language_info") or {}
    mode = info.get("codemirror_mode")
    return bool(str(spec.get("name", "")).lower() in ("python2", "python2.7")
                or "python 2" in str(spec.get("display_name", "")).lower()
                or str(info.get("version", "")).startswith("2.")
                or info.get("pygments_lexer") == "ipython2"
                or (isinstance(mode, dict) and str(mode.get("version")) == "2"))


def where(line_map, line) -> str:
    """Line ``line`` of ``notebook_source``'s text as "cell K line M"."""
    for k, first, n in line_map:
        if first <= line < first + n:
            return f"cell {k} line {line - first + 1}"
    return f"line {line}"


# -- translation -------------------------------------------------------------------------------
def _lines(text):
    """The lines as Python's compiler counts them (\\n, \\r\\n, \\r), endings kept."""
    return io.StringIO(text, newline="").readlines()


def _ending(line):
    return line[len(line.rstrip("\r\n")):]


def _is_marker(line):
    return line.startswith("# In[") and line.rstrip("\r\n").endswith("]:")


def translate(source: str, path: str) -> str:
    """IPython syntax in ``source`` as calls on ``get_ipython()``, by IPython's own
    transformers, cell by cell, every line on its own line number; source without IPython
    syntax comes back unchanged."""
    lines = _lines(source)
    out, start = [], 0
    for i, line in enumerate(lines + ["# In[]:"]):  # a sentinel marker ends the last cell
        if _is_marker(line):
            out += _cell(lines[start:i], path, start + 1)
            if i < len(lines):
                out.append(line)
            start = i + 1
    return "".join(out)


_LAYOUT = {tokenize.NEWLINE, tokenize.NL, tokenize.COMMENT, tokenize.INDENT, tokenize.DEDENT, tokenize.ENDMARKER}


def _found(group):
    """Whether one of IPython's token transformers (magic or shell assignment, escaped
    command, help) finds its syntax in this logical line: only those are translated."""
    try:
        return any(cls.find([group]) for cls in _TM.token_transformers)
    except Exception:  # noqa: BLE001 - then let transform_cell decide
        return True


def _cell(lines, path, first):
    """One cell's lines translated (as many lines as came in); ``first``: the file's line
    number of ``lines[0]``."""
    text = "".join(lines)
    if not text.strip():
        return lines
    out = list(lines)
    body = leading_empty_lines(lines)
    if cell_magic(body) is not body:  # IPython's own test: the cell starts with %%
        new = _lines(_transform(text))
        if len(new) == 1 and new[0].count(GI) > text.count(GI):
            _put(out, len(lines) - len(body), len(lines), new[0], path, first)
        return out
    try:
        groups = make_tokens_by_line(lines)
    except Exception:  # noqa: BLE001 - IPython cannot tokenize it (bad indentation): Python reports it
        return lines
    for group in groups:  # one logical line each, as IPython's token transformers see them
        rows = [r for t in group if t.type not in _LAYOUT for r in (t.start[0], t.end[0])]
        if not rows:
            continue
        if not _found(group):
            continue
        a, b = min(rows) - 1, min(max(rows), len(lines))
        chunk = "".join(lines[a:b])
        new = _lines(_transform(chunk))
        if "".join(new).count(GI) <= chunk.count(GI):
            continue
        if len(new) == 1:
            _put(out, a, b, new[0], path, first)
        elif len(new) == b - a:  # IPython kept the line count: take its get_ipython() lines only
            for i, (old, line) in enumerate(zip(lines[a:b], new)):
                if line.count(GI) > old.count(GI):
                    _put(out, a + i, a + i + 1, line, path, first)
    return out


def _transform(chunk):
    try:
        return _TM.transform_cell(chunk)
    except Exception:  # noqa: BLE001 - IPython gave up on it: left as it is
        return chunk


def _put(out, a, b, new, path, first):
    """``out[a:b]`` (one logical line) becomes IPython's one line at ``a``, indented as the
    original was, and blank lines after it."""
    old = out[a]
    indent = old[: len(old) - len(old.lstrip(" \t"))]
    out[a] = indent + new.strip().rstrip("\r\n") + _ending(old)
    for i in range(a + 1, b):
        out[i] = _ending(out[i]) or " "  # a last line without its newline stays a line
    for kind in _kinds(new):
        note(f"ipython.{kind}", "ipython", where=(path, first + a))


def _kinds(line):
    """``get_ipython().run_line_magic('time', ...)`` -> ``magic.time``, ``system`` -> ``shell``..."""
    try:
        tree = ast.parse(line.strip())
    except SyntaxError:
        return ["other"]
    kinds = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and isinstance(node.func.value, ast.Call) and isinstance(node.func.value.func, ast.Name)
                and node.func.value.func.id == "get_ipython"):
            continue
        method = node.func.attr
        arg = node.args[0].value if node.args and isinstance(node.args[0], ast.Constant) else ""
        if method == "run_line_magic":
            kinds.append("help" if arg in ("pinfo", "pinfo2") else f"magic.{arg}")
        elif method == "run_cell_magic":
            kinds.append(f"cellmagic.{arg}")
        elif method in ("system", "getoutput"):
            kinds.append("shell.install" if installs(str(arg)) else "shell" if method == "system"
                         else "shell.output")
        else:
            kinds.append(method)
    return kinds or ["other"]


def installs(cmd: str) -> bool:
    """Whether a shell command installs software (pip, conda, apt-get, sudo...)."""
    words = cmd.split()
    while words and "=" in words[0] and not words[0].startswith("-"):  # VAR=value pip install
        words = words[1:]
    if not words:
        return False
    base = os.path.basename(words[0])
    return (base in INSTALLERS or base.rstrip("0123456789.") == "pip"
            or words[1:3] in (["-m", "pip"], ["-m", "conda"]))


# -- the shell ---------------------------------------------------------------------------------
def _format_time(seconds):
    """IPython's way: three significant digits, s / ms / µs / ns."""
    if seconds >= 60:
        minutes, sec = divmod(seconds, 60)
        return f"{int(minutes)}min {sec:.0f}s"
    for unit, scale in (("s", 1), ("ms", 1e3), ("µs", 1e6)):
        if seconds * scale >= 1:
            return f"{seconds * scale:.3g} {unit}"
    return f"{seconds * 1e9:.3g} ns"


def display(*objs, **kwargs):
    """IPython's ``display`` as a notebook's text/plain output: each object's pretty repr."""
    from IPython.lib.pretty import pretty

    for obj in objs:
        print(pretty(obj))


class Shell:
    """What the translated calls need of ``get_ipython()``."""

    kernel = None

    def __init__(self, namespace: dict):
        self.user_ns = namespace
        self._oldpwd = os.getcwd()

    def __repr__(self):
        return "<tfrepro legacy's IPython shell>"

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        raise NotCovered(f"get_ipython().{name} is not covered by tfrepro legacy's IPython shim")

    # -- the frame that called us, its variables ---------------------------------------------
    @staticmethod
    def _frame():
        f = sys._getframe(1)
        while f is not None and f.f_code.co_filename == __file__:
            f = f.f_back
        return f

    def _scope(self, frame):
        """(globals, locals) for code a magic runs: the notebook's namespace, and the calling
        function's variables when called from inside one."""
        loc = frame.f_locals if frame is not None else None
        return self.user_ns, (None if loc is None or loc is self.user_ns else loc)

    def var_expand(self, cmd, frame=None):
        """``{expr}`` and ``$name`` in a command, as IPython expands them (its formatter)."""
        from IPython.utils.text import DollarFormatter

        ns = dict(self.user_ns)
        if frame is not None:
            ns.update(frame.f_locals)
        try:
            return DollarFormatter().vformat(cmd, args=[], kwargs=ns)
        except Exception:  # noqa: BLE001 - as IPython: left as written
            return cmd

    def _run(self, src, frame, first_line, value=True):
        """Run ``src`` (IPython syntax allowed) as the caller's code at ``first_line``; the
        value of a final expression is returned."""
        filename = frame.f_code.co_filename if frame is not None else "<ipython>"
        lines = _cell(_lines(src), filename, first_line)
        from . import py2

        tree = py2.script_tree("\n" * (first_line - 1) + "".join(lines), filename)  # Python 2 cells too
        glob, loc = self._scope(frame)
        last = None
        if value and tree.body and isinstance(tree.body[-1], ast.Expr):
            last = ast.Expression(tree.body.pop().value)
        exec(compile(tree, filename, "exec"), glob, loc)
        return eval(compile(last, filename, "eval"), glob, loc) if last is not None else None

    # -- IPython's API -----------------------------------------------------------------------
    def run_line_magic(self, magic_name, line, _stack_depth=1):
        frame = self._frame()
        if magic_name not in ("time", "timeit", "pinfo", "pinfo2"):  # IPython's no_var_expand ones
            line = self.var_expand(line, frame)
        fn = getattr(self, f"_magic_{magic_name}", None)
        if magic_name in NO_OPS:
            note(f"ipython.no-op.{magic_name}", "ipython")
            return None
        if fn is None:
            raise NotCovered(f"%{magic_name} is not covered by tfrepro legacy's IPython shim")
        return fn(line, frame)

    def run_cell_magic(self, magic_name, line, cell):
        frame = self._frame()
        fn = getattr(self, f"_cell_{magic_name}", None)
        if fn is None:
            raise NotCovered(f"%%{magic_name} is not covered by tfrepro legacy's IPython shim")
        return fn(self.var_expand(line, frame), cell, frame)

    def magic(self, arg_s):
        name, _, rest = arg_s.lstrip("%").partition(" ")
        return self.run_line_magic(name, rest)

    def system(self, cmd):
        frame = self._frame()
        cmd = self.var_expand(cmd, frame)
        if not self._not_run("!" + cmd, cmd):
            sys.stdout.flush()
            sys.stderr.flush()
            self.user_ns["_exit_code"] = subprocess.run(cmd, shell=True, check=False).returncode

    def getoutput(self, cmd, split=True, depth=0):
        from IPython.utils.text import SList

        frame = self._frame()
        cmd = self.var_expand(cmd, frame)
        if self._not_run("!" + cmd, cmd):
            return SList() if split else ""
        out = subprocess.run(cmd, shell=True, check=False, stdout=subprocess.PIPE, stderr=subprocess.STDOUT).stdout
        text = out.decode(errors="replace")
        return SList(text.splitlines()) if split else text

    system_raw = system_piped = system

    @staticmethod
    def _not_run(shown, cmd):
        if not installs(cmd):
            return False
        note("ipython.not-run", "ipython")
        sys.stdout.flush()
        print(f"tfrepro legacy: not run: {shown} (nothing is installed; install what the script needs yourself)",
              file=sys.stderr)
        return True

    # -- line magics ---------------------------------------------------------------------------
    def _magic_matplotlib(self, line, frame):
        note("ipython.no-op.matplotlib", "ipython")  # matplotlib's Agg backend: figures at plt.show

    def _magic_pylab(self, line, frame):
        from IPython.core.pylabtools import import_pylab

        note("ipython.no-op.pylab", "ipython")
        import_pylab(self.user_ns, import_all="--no-import-all" not in line.split())
        self.user_ns["display"] = display
        print("Populating the interactive namespace from numpy and matplotlib")

    def _magic_time(self, line, frame, cell=None, first_line=None):
        if line.strip() and cell is not None:
            raise SyntaxError("Can't use statement directly after '%%time'!")
        src = cell if cell is not None else line
        first = first_line or (frame.f_lineno if frame is not None else 1)
        t0, c0 = time.perf_counter(), os.times()
        value = self._run(src, frame, first)
        wall, c1 = time.perf_counter() - t0, os.times()
        user, sys_ = c1.user - c0.user, c1.system - c0.system
        print(f"CPU times: user {_format_time(user)}, sys: {_format_time(sys_)}, total: {_format_time(user + sys_)}")
        print(f"Wall time: {_format_time(wall)}")
        return value

    def _magic_timeit(self, line, frame, cell=None, first_line=None):
        words = line.split(" ")
        while words and words[0].startswith("-"):  # -n 10 -r 3 -q -o ...: its loop counts
            opt = words.pop(0)
            if opt in ("-n", "-r", "-p") and words:
                words.pop(0)
            while words and words[0] == "":
                words.pop(0)
        stmt = " ".join(words)
        first = first_line or (frame.f_lineno if frame is not None else 1)
        t0 = time.perf_counter()
        if cell is not None:
            self._run(stmt, frame, first, value=False)  # %%timeit's line is its setup
            t0 = time.perf_counter()
            self._run(cell, frame, first + 1, value=False)
        else:
            self._run(stmt, frame, first, value=False)
        wall = time.perf_counter() - t0
        print(f"Wall time: {_format_time(wall)} (%timeit ran it once: tfrepro legacy does not time loops)")

    def _magic_pip(self, line, frame):
        self._not_run("%pip " + line, "pip " + line)

    def _magic_conda(self, line, frame):
        self._not_run("%conda " + line, "conda " + line)

    def _magic_env(self, line, frame):
        line = line.strip()
        if not line:
            env = {k: ("<hidden>" if any(s in k.lower() for s in ("key", "token", "secret", "pass")) else v)
                   for k, v in os.environ.items()}
            print(env)
            return env
        key, sep, val = line.partition("=") if "=" in line else line.partition(" ")
        if not sep:
            value = os.environ.get(key)
            if value is None:
                print(f"Environment does not have key: {key}")
            else:
                print(value)
            return value
        os.environ[key.strip()] = val.strip()
        print(f"env: {key.strip()}={val.strip()}")
        return None

    def _magic_cd(self, line, frame):
        args = shlex.split(line)
        quiet = "-q" in args
        args = [a for a in args if a != "-q"]
        target = args[0] if args else "~"
        target = self._oldpwd if target == "-" else os.path.expanduser(target)
        self._oldpwd = os.getcwd()
        os.chdir(target)
        if not quiet:
            print(os.getcwd())

    def _magic_pwd(self, line, frame):
        print(os.getcwd())
        return os.getcwd()

    def _magic_run(self, line, frame):
        args = shlex.split(line)
        interactive = False
        while args and args[0].startswith("-") and args[0] != "-m":
            interactive |= args.pop(0) == "-i"
        if args[:1] == ["-m"]:
            import runpy

            module_ns = runpy.run_module(args[1], run_name="__main__", alter_sys=True)
            self.user_ns.update({k: v for k, v in module_ns.items() if not k.startswith("__")})
            return
        path, argv = args[0], args[1:]
        if is_notebook(path):
            src, _ = notebook_source(path)
        else:
            with open(path, encoding="utf-8") as f:
                src = f.read()
        if is_notebook(path) or path.endswith(".ipy"):
            src = translate(src, os.path.abspath(path))
        ns = self.user_ns if interactive else {"__builtins__": builtins}
        saved_name, saved_file, saved_argv = ns.get("__name__"), ns.get("__file__"), sys.argv
        ns["__name__"], ns["__file__"] = "__main__", os.path.abspath(path)
        sys.argv = [path] + argv
        try:
            exec(compile(src, os.path.abspath(path), "exec"), ns)
        finally:
            sys.argv = saved_argv
            if interactive:
                ns["__name__"], ns["__file__"] = saved_name, saved_file
        if not interactive:
            self.user_ns.update({k: v for k, v in ns.items() if not k.startswith("__")})

    def _pinfo(self, name, frame, source):
        glob, loc = self._scope(frame)
        parts = name.strip().split(".")
        found = False
        if all(p.isidentifier() for p in parts):
            for ns in (loc or {}, glob, vars(builtins)):
                if parts[0] in ns:
                    obj, found = ns[parts[0]], True
                    try:
                        for p in parts[1:]:
                            obj = getattr(obj, p)
                    except AttributeError:
                        found = False
                    break
        if not found:
            print(f"Object `{name.strip()}` not found.")
            return
        import inspect

        print(f"Type:        {type(obj).__name__}")
        print(f"String form: {obj!r}")
        print(f"Docstring:   {inspect.getdoc(obj) or '<no docstring>'}")
        if source:
            try:
                print("Source:\n" + inspect.getsource(obj))
            except (TypeError, OSError):
                pass

    def _magic_pinfo(self, line, frame):
        self._pinfo(line, frame, source=False)

    def _magic_pinfo2(self, line, frame):
        self._pinfo(line, frame, source=True)

    # -- cell magics ---------------------------------------------------------------------------
    def _body_line(self, frame):
        return (frame.f_lineno if frame is not None else 0) + 1  # the body follows the %% line

    def _cell_time(self, line, cell, frame):
        return self._magic_time(line, frame, cell=cell, first_line=self._body_line(frame))

    def _cell_timeit(self, line, cell, frame):
        return self._magic_timeit(line, frame, cell=cell, first_line=self._body_line(frame) - 1)

    def _cell_capture(self, line, cell, frame):
        from IPython.utils.capture import capture_output

        args = line.split()
        out = not any(a == "--no-stdout" for a in args)
        err = not any(a == "--no-stderr" for a in args)
        names = [a for a in args if not a.startswith("-")]
        with capture_output(stdout=out, stderr=err, display=False) as captured:
            self._run(cell, frame, self._body_line(frame), value=False)
        if names:
            self.user_ns[names[0]] = captured


def install(namespace: dict) -> Shell:
    """``get_ipython()`` (in builtins and ``namespace``) answering the translated calls,
    and ``display`` in ``namespace`` (IPython put it in every notebook's namespace)."""
    shell = Shell(namespace)

    def get_ipython():
        return shell

    vars(builtins)["get_ipython"] = get_ipython
    namespace["get_ipython"] = get_ipython
    namespace.setdefault("display", display)
    return shell
