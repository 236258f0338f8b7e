"""Tier 9: ``tfrepro legacy`` on notebooks: IPython syntax translated by IPython's own transformers
(line numbers kept, everything else byte for byte), the small ``get_ipython()`` shell the
translated calls run against, and notebooks (nbformat 3 and 4) joined into one source with
a map back to their cells. In-process unit tests; no TensorFlow."""
import builtins
import os
import sys

import nbformat
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from IPython.core.inputtransformer2 import TransformerManager

from tfrepro.tools.legacy import ipython as ip
from tfrepro.tools.legacy.migration import TRACE, lookup
from tfrepro.tools.legacy.state import OPTS, NotCovered


@pytest.fixture(autouse=True)
def _report(tmp_path, monkeypatch):
    """Notes go to a clean trace, located relative to ``tmp_path``; ``get_ipython`` leaves
    builtins as it found them."""
    monkeypatch.setattr(OPTS, "script_dir", str(tmp_path))
    saved_items, saved_gi = dict(TRACE.items), getattr(builtins, "get_ipython", None)
    TRACE.items.clear()
    yield
    TRACE.items.clear()
    TRACE.items.update(saved_items)
    if saved_gi is None:
        builtins.__dict__.pop("get_ipython", None)
    else:
        builtins.get_ipython = saved_gi


def _noted():
    return {k: v["where"] for k, v in TRACE.items.items()}


def _run(tmp_path, source, ns=None):
    """Translate ``source`` as the script ``nb.py`` beside the run, then run it against
    ``install``; returns its namespace."""
    ns = {"__name__": "__main__"} if ns is None else ns
    path = tmp_path / "nb.py"
    path.write_text(source)  # for inspect.getsource and tracebacks
    path = str(path)
    ip.install(ns)
    exec(compile(ip.translate(source, path), path, "exec"), ns)
    return ns


# -- translate ---------------------------------------------------------------------------------
FORMS = [  # (line, what it becomes, the noted construct)
    ("%matplotlib inline", "get_ipython().run_line_magic('matplotlib', 'inline')", "ipython.magic.matplotlib"),
    ("%time x = f()", "get_ipython().run_line_magic('time', 'x = f()')", "ipython.magic.time"),
    ("%timeit f()", "get_ipython().run_line_magic('timeit', 'f()')", "ipython.magic.timeit"),
    ("!pip install x", "get_ipython().system('pip install x')", "ipython.shell.install"),
    ("!ls", "get_ipython().system('ls')", "ipython.shell"),
    ("x = !ls", "x = get_ipython().getoutput('ls')", "ipython.shell.output"),
    ("obj?", "get_ipython().run_line_magic('pinfo', 'obj')", "ipython.help"),
    ("obj??", "get_ipython().run_line_magic('pinfo2', 'obj')", "ipython.help"),
    ("%pylab inline", "get_ipython().run_line_magic('pylab', 'inline')", "ipython.magic.pylab"),
]


def test_each_form_translated_on_its_own_line_and_noted():
    filler = ["import os", "y = (1,", "     2)", "", "def f():", "    return 1"]
    lines = [ln for form in FORMS for ln in (form[0], *filler)]
    out = ip.translate("\n".join(lines) + "\n", os.path.join(OPTS.script_dir, "nb.py")).splitlines()
    assert len(out) == len(lines)
    for i, (form, new, _) in enumerate(FORMS):
        k = i * (1 + len(filler))
        assert out[k] == new, form
        assert out[k + 1:k + 1 + len(filler)] == filler
    noted = _noted()
    for i, (form, _, construct) in enumerate(FORMS):
        assert f"nb.py:{i * (1 + len(filler)) + 1}" in noted[construct], form
        assert lookup(construct)[0], construct  # each has its plain-Python form in the report


def test_line_numbers_kept_where_ipython_joins_lines(tmp_path):
    src = "%%time\nx = 1\ny = 2\n"  # a cell magic: IPython makes one line of the cell
    assert ip.translate(src, "nb.py") == "get_ipython().run_cell_magic('time', '', 'x = 1\\ny = 2\\n')\n\n\n"
    src = "a = 1\n!echo a \\\n  b\nc = 3\n"  # a continued shell line
    assert ip.translate(src, "nb.py") == "a = 1\nget_ipython().system('echo a    b')\n\nc = 3\n"
    src = "def f(v):\n    !true\n    r = %time v + 1\n    return r\n"
    assert ip.translate(src, "nb.py") == (
        "def f(v):\n    get_ipython().system('true')\n    r = get_ipython().run_line_magic('time', 'v + 1')\n"
        "    return r\n")
    # an error after translated lines, and inside a cell magic's body, is reported at its line
    for src, line in [("%matplotlib inline\n!true \\\n  x\n1/0\n", 4), ("%%time\nx = 1\ny = 1/0\n", 3),
                      ("%time x = 1\n%time z = 1/0\n", 2)]:
        with pytest.raises(ZeroDivisionError) as e:
            _run(tmp_path, src)
        assert e.traceback[-1].lineno + 1 == line, src


PLAIN = [  # Python 3 and Python 2 sources without IPython syntax
    "x = 10 % 3\ny = 'a?' + \"!b\"  # %time in a comment?\n",
    "d = {'what?': 1}\nprint(f'{x!r:>10}')\ns = '''\n%time not a magic\n!ls\n'''\n",
    "def f(a,\n      b):\n    return (a %\n            b)\n",
    "@decorator\nclass A:\n\tpass\n",
    "x = 1\r\ny = 2\r\n",
    "x = 1",  # no final newline
    "    x = 1\n",  # indented (IPython dedents it)
    "\n\n\nx = 1\n",  # leading blank lines (IPython drops them)
    ">>> x = 1\n>>> y = 2\n",  # a console transcript (IPython strips the prompts)
    'print "hello"\nprint "a %d" % 3\nprint >>sys.stderr, "x"\n',
    "try:\n    pass\nexcept Exception, e:\n    raise ValueError, 'no'\n",
    "exec 'x = 1'\ny = `x`\nz = 0777\nif a <> b: pass\nu = ur'x'\n",
    "if x:\n    y = 1\n  z = 2\n",  # not even tokenizable
    "x = 1\x0cy = 2\n",
]


@pytest.mark.parametrize("src", PLAIN)
def test_source_without_ipython_syntax_is_unchanged(src):
    assert ip.translate(src, "nb.py") == src
    assert not TRACE.items


def test_ipython_changes_to_non_ipython_lines_are_not_taken():
    tm = TransformerManager()
    src = "    x = 1\n    %time y = 2\n"  # IPython dedents the whole cell
    assert tm.transform_cell(src).startswith("x = 1\n")
    assert ip.translate(src, "nb.py") == "    x = 1\n    get_ipython().run_line_magic('time', 'y = 2')\n"
    src = ">>> x = 1\n>>> y = 2\n%time z = 3\n"  # IPython strips the prompts
    assert tm.transform_cell(src).startswith("x = 1\ny = 2\n")
    assert ip.translate(src, "nb.py") == ">>> x = 1\n>>> y = 2\nget_ipython().run_line_magic('time', 'z = 3')\n"
    src = "\n\nprint 'py2'\n%time z = 3"  # IPython drops leading blank lines and adds the final newline
    assert tm.transform_cell(src) == "print 'py2'\nget_ipython().run_line_magic('time', 'z = 3')\n"
    assert ip.translate(src, "nb.py") == "\n\nprint 'py2'\nget_ipython().run_line_magic('time', 'z = 3')"
    src = "a = 1\r\n!ls\r\n"
    assert ip.translate(src, "nb.py") == "a = 1\r\nget_ipython().system('ls')\r\n"


@settings(max_examples=150, deadline=None, derandomize=True)
@given(st.text(alphabet=st.characters(blacklist_characters="%!?", blacklist_categories=("Cs",)), max_size=200))
def test_any_text_without_ipython_characters_is_unchanged(src):
    assert ip.translate(src, "nb.py") == src


@settings(max_examples=150, deadline=None, derandomize=True)
@given(st.lists(st.sampled_from(["x = 1", "%time x", "!ls", "x = !ls", "f?", "%%time", "def f():", "    y = 2",
                                 "    !ls", "(1,", " 2)", "s = '''", "'''", "a \\", "", "# In[1]:", "\t%pwd",
                                 "print 'x'", "x = %env", ">>> z"]), max_size=25), st.sampled_from(["\n", "\r\n"]))
def test_line_count_is_kept_for_any_mix(lines, end):
    src = end.join(lines)
    out = ip.translate(src, os.path.join(OPTS.script_dir, "nb.py"))
    assert len(ip._lines(out)) == len(ip._lines(src))
    for old, new in zip(ip._lines(src), ip._lines(out)):
        assert new == old or "get_ipython()" in new or not new.strip()


# -- the shell -----------------------------------------------------------------------------------
def test_time_and_timeit_run_once_in_the_namespace(tmp_path, capsys):
    ns = _run(tmp_path, "%time x = 1+1\ny = %time x * 3\nseen = []\n%timeit seen.append(1)\n"
                        "%timeit -n 100 -r 7 seen.append(2)\n")
    assert (ns["x"], ns["y"], ns["seen"]) == (2, 6, [1, 2])
    out = capsys.readouterr().out
    assert out.count("Wall time: ") == 4 and out.count("CPU times: user ") == 2
    assert "%timeit ran it once" in out
    ns = _run(tmp_path, "%%timeit calls = []\ncalls.append(1)\n")
    assert ns["calls"] == [1]


def test_cell_magics_time_and_capture(tmp_path, capfd):
    ns = _run(tmp_path, "# In[1]:\n%%time\na = 1\nb = a + 1\n# In[2]:\n%%capture out\nprint('hidden')\nc = 3\n")
    assert (ns["a"], ns["b"], ns["c"]) == (1, 2, 3)
    assert ns["out"].stdout == "hidden\n"
    assert "hidden" not in capfd.readouterr().out
    assert {"ipython.cellmagic.time", "ipython.cellmagic.capture"} <= set(_noted())
    _run(tmp_path, "%%time\n!echo from-the-body\n")  # IPython syntax inside the body too
    assert "from-the-body" in capfd.readouterr().out


def test_shell_escapes_run_through_the_shell(tmp_path, capfd):
    ns = _run(tmp_path, "name = 'zz'\n!echo hi\n!echo {name} $name\nfiles = !echo a; echo b\n!exit 3\n")
    out = capfd.readouterr().out
    assert "hi\n" in out and "zz zz\n" in out
    assert ns["files"] == ["a", "b"] and ns["files"].s == "a b" and ns["files"].n == "a\nb"
    assert _run(tmp_path, "one = !echo a\n")["one"] == ["a"]
    assert ns["_exit_code"] == 3


def test_installers_are_never_run(tmp_path, monkeypatch, capfd):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name in ("pip", "conda", "sudo", "apt-get"):  # would leave a mark if run
        (bin_dir / name).write_text(f"#!/bin/sh\ntouch {tmp_path}/ran-{name}\n")
        (bin_dir / name).chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    ns = _run(tmp_path, "!pip install foo\n%pip install bar\n!sudo apt-get install -y baz\nx = !conda list\n"
                        "!{sys.executable} -m pip install qux\n", ns={"sys": sys})
    assert not list(tmp_path.glob("ran-*"))
    assert ns["x"] == []
    err = capfd.readouterr().err.splitlines()
    assert err[0] == ("tfrepro legacy: not run: !pip install foo "
                      "(nothing is installed; install what the script needs yourself)")
    assert [e.split(" (")[0] for e in err] == [
        "tfrepro legacy: not run: !pip install foo", "tfrepro legacy: not run: %pip install bar",
        "tfrepro legacy: not run: !sudo apt-get install -y baz", "tfrepro legacy: not run: !conda list",
        f"tfrepro legacy: not run: !{sys.executable} -m pip install qux"]
    noted = _noted()
    assert noted["ipython.not-run"] == ["nb.py:1", "nb.py:2", "nb.py:3", "nb.py:4", "nb.py:5"]
    assert noted["ipython.shell.install"] == ["nb.py:1", "nb.py:3", "nb.py:4", "nb.py:5"]


def test_help(tmp_path, capsys):
    _run(tmp_path, "def f():\n    'Adds nothing.'\n    return 1\nf?\nf??\nnosuch?\nimport os\nos.path.join?\n"
                   "def g():\n    local = 3\n    local?\ng()\n")
    out = capsys.readouterr().out
    assert out.count("Docstring:   Adds nothing.") == 2
    assert "Source:\ndef f():\n    'Adds nothing.'" in out
    assert "Object `nosuch` not found." in out
    assert "Join two or more pathname components" in out
    assert "Type:        int\nString form: 3" in out


def test_noop_magics_env_cd_pwd_and_run(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("TFREPRO_NB_TEST", "old")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "sub").mkdir()
    (tmp_path / "other.py").write_text("import sys\nargs = sys.argv[1:]\nsquare = seed ** 2 if 'seed' in dir() "
                                       "else None\n")
    ns = _run(tmp_path, "%matplotlib inline\n%load_ext autoreload\n%autoreload 2\n%aimport numpy\n"
                        "%config InlineBackend.figure_format = 'retina'\n%reload_ext autoreload\n"
                        "%env TFREPRO_NB_TEST=1\n%env TFREPRO_NB_TEST\nseed = 4\n%run other.py a b\n"
                        "%run -i other.py\n%cd sub\nhere = %pwd\n")
    assert os.environ["TFREPRO_NB_TEST"] == "1"
    assert ns["args"] == [] and ns["square"] == 16  # -i: in the notebook's namespace
    assert os.getcwd() == str(tmp_path / "sub") == ns["here"]
    out = capsys.readouterr().out
    assert "env: TFREPRO_NB_TEST=1\n1\n" in out
    assert {"ipython.no-op.matplotlib", "ipython.no-op.load_ext", "ipython.no-op.autoreload",
            "ipython.no-op.aimport", "ipython.no-op.config", "ipython.no-op.reload_ext"} <= set(_noted())
    ns = _run(tmp_path, "%run ../other.py a b\n")  # without -i: its own namespace, merged after
    assert ns["args"] == ["a", "b"] and ns["square"] is None


def test_pylab_fills_the_namespace(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("MPLBACKEND", "Agg")
    ns = _run(tmp_path, "%pylab inline\nv = linspace(0, 1, 3)\n")
    assert ns["np"].__name__ == "numpy" and ns["plt"].__name__ == "matplotlib.pyplot"
    assert list(ns["v"]) == [0.0, 0.5, 1.0]
    assert ns["display"] is ip.display


def test_uncovered_magics_and_the_shell_object(tmp_path, capsys):
    with pytest.raises(NotCovered, match=r"^%nosuch is not covered by tfrepro legacy's IPython shim$"):
        _run(tmp_path, "x = 1\n%nosuch arg\n")
    with pytest.raises(NotCovered, match=r"^%%bash is not covered"):
        _run(tmp_path, "%%bash\necho hi\n")
    ns = _run(tmp_path, "shell = get_ipython()\nshell.magic('time t = 5')\ndisplay('a', [1, 2])\n")
    assert ns["shell"].user_ns is ns and ns["shell"].kernel is None and ns["t"] == 5
    assert builtins.get_ipython() is ns["shell"]
    assert capsys.readouterr().out.endswith("'a'\n[1, 2]\n")
    with pytest.raises(NotCovered, match=r"get_ipython\(\)\.events is not covered"):
        ns["shell"].events  # noqa: B018


# -- notebooks -----------------------------------------------------------------------------------
def _v4(tmp_path, kernel="python3"):
    from nbformat import v4

    nb = v4.new_notebook(cells=[
        v4.new_markdown_cell("# A title"),
        v4.new_code_cell("import os\nx = 1", execution_count=3),
        v4.new_raw_cell("raw text"),
        v4.new_code_cell("%%time\ny = 2\nz = 1 / 0\n"),
        v4.new_code_cell(""),
        v4.new_code_cell("!echo hi\n", execution_count=9),
    ])
    nb.metadata["kernelspec"] = {"name": kernel, "display_name": kernel.title(), "language": "python"}
    path = tmp_path / "nb.ipynb"
    nbformat.write(nb, str(path))
    return path


def test_notebook_v4_source_line_map_and_where(tmp_path):
    path = _v4(tmp_path)
    assert ip.is_notebook(path) and ip.is_notebook("A.IPYNB") and not ip.is_notebook("a.py")
    src, line_map = ip.notebook_source(path)
    assert src == ("# In[3]:\nimport os\nx = 1\n# In[4]:\n%%time\ny = 2\nz = 1 / 0\n# In[5]:\n"
                   "# In[9]:\n!echo hi\n")
    assert line_map == [(2, 2, 2), (4, 5, 3), (5, 9, 0), (6, 10, 1)]
    assert ip.where(line_map, 3) == "cell 2 line 2"
    assert ip.where(line_map, 7) == "cell 4 line 3"
    assert ip.where(line_map, 10) == "cell 6 line 1"
    assert ip.where(line_map, 4) == "line 4"  # a # In[] line
    assert not ip.notebook_python2(path)
    # run whole: the error is reported in the notebook's terms
    with pytest.raises(ZeroDivisionError) as e:
        _run(tmp_path, src)
    assert ip.where(line_map, e.traceback[-1].lineno + 1) == "cell 4 line 3"


def test_notebook_python2_kernel_and_v3(tmp_path):
    assert ip.notebook_python2(_v4(tmp_path, kernel="python2"))
    from nbformat import v3

    nb = v3.new_notebook(worksheets=[v3.new_worksheet(cells=[
        v3.new_code_cell(input="print 'a'\nb = 2", prompt_number=1),
        v3.new_text_cell("markdown", source="words"),
        v3.new_code_cell(input="%matplotlib inline"),
    ])])
    path = tmp_path / "old.ipynb"
    nbformat.write(nb, str(path), version=nbformat.NO_CONVERT)
    assert '"nbformat": 3' in path.read_text() and '"worksheets"' in path.read_text()
    src, line_map = ip.notebook_source(path)
    assert src == "# In[1]:\nprint 'a'\nb = 2\n# In[3]:\n%matplotlib inline\n"
    assert line_map == [(1, 2, 2), (3, 5, 1)]
    assert ip.translate(src, "old.ipynb") == (
        "# In[1]:\nprint 'a'\nb = 2\n# In[3]:\nget_ipython().run_line_magic('matplotlib', 'inline')\n")
    assert not ip.notebook_python2(path)  # nbformat 3 kept no kernel: unknown, read as Python 3
    nb.metadata["language_info"] = {"name": "python", "version": "2.7.15"}
    nbformat.write(nb, str(path), version=nbformat.NO_CONVERT)
    assert ip.notebook_python2(path)
