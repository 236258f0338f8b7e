"""NumPy 1.x as the TF1 era's scripts relied on it, where NumPy 2 raises instead.

The script's own files see a view of NumPy (``import numpy as np`` gives it; every name is
the real one) where:

* the names NumPy 1.24 and 2.0 removed answer again (``np.float``, ``np.int``,
  ``np.bool``, ``np.object``, ``np.asscalar``, ``np.NaN``, ``np.product``, ``np.asfarray``,
  ``np.string_``, ``np.mat``...);
* ``np.array`` / ``np.asarray`` of a ragged list (``[state, action, reward, next_state]``,
  the era's replay memories) make an object array, as NumPy 1.23 did (NumPy 1.24 raises).

And two conversions NumPy 2 turned into errors, made where the script's code does them
(its syntax tree is rewritten as it loads, line numbers kept):

* ``float(a)`` / ``int(a)`` of a one-element array of any shape (``int(q.argmax(1))``,
  ``float(model.predict(s))``): the element, as NumPy 1.x gave it;
* ``x[i] = a`` with a one-element array ``a`` stored into one element (``rewards[t] =
  reward_array``): the element, as NumPy 1.x stored it.

And NumPy 1.x's printing of scalars (``1.1``, not NumPy 2's ``np.float64(1.1)``): a
script's printed tuples and lists of NumPy numbers read as they did.

Each use is noted for ``--report`` where it ran, with what it does today.
"""
from __future__ import annotations

import ast
import builtins
import operator
import types

import numpy as _np

from .migration import MAP, note

# name -> (value or the name of NumPy's function that replaced it, what to write today)
REMOVED = {
    "float": (float, "float"), "int": (int, "int"), "bool": (bool, "bool"), "object": (object, "object"),
    "str": (str, "str"), "complex": (complex, "complex"), "long": (int, "int"), "unicode": (str, "str"),
    "float_": ("float64", "np.float64"), "complex_": ("complex128", "np.complex128"),
    "string_": ("bytes_", "np.bytes_"), "unicode_": ("str_", "np.str_"), "bool8": ("bool_", "np.bool_"),
    "int0": ("intp", "np.intp"), "uint0": ("uintp", "np.uintp"), "longfloat": ("longdouble", "np.longdouble"),
    "singlecomplex": ("complex64", "np.complex64"), "cfloat": ("complex128", "np.complex128"),
    "longcomplex": ("clongdouble", "np.clongdouble"), "clongfloat": ("clongdouble", "np.clongdouble"),
    "NaN": ("nan", "np.nan"), "NAN": ("nan", "np.nan"), "Inf": ("inf", "np.inf"), "Infinity": ("inf", "np.inf"),
    "infty": ("inf", "np.inf"), "PINF": ("inf", "np.inf"), "NINF": (-float("inf"), "-np.inf"),
    "PZERO": (0.0, "0.0"), "NZERO": (-0.0, "-0.0"),
    "product": ("prod", "np.prod"), "cumproduct": ("cumprod", "np.cumprod"), "alltrue": ("all", "np.all"),
    "sometrue": ("any", "np.any"), "round_": ("round", "np.round"), "row_stack": ("vstack", "np.vstack"),
    "in1d": ("isin", "np.isin"), "trapz": ("trapezoid", "np.trapezoid"), "mat": ("asmatrix", "np.asmatrix"),
    "asscalar": (lambda a: _np.asarray(a).item(), "a.item()"),
    "asfarray": (lambda a, dtype=_np.float64: _np.asarray(a, dtype=dtype if _np.dtype(dtype).kind in "fc"
                                                          else _np.float64), "np.asarray(a, dtype=float)"),
    "msort": (lambda a: _np.sort(a, axis=0), "np.sort(a, axis=0)"),
    "rank": (lambda a: _np.ndim(a), "np.ndim(a)"),
}


def _removed_value(name):
    value, _today = REMOVED[name]
    if isinstance(value, str):
        return float(value) if value in ("nan", "inf") else getattr(_np, value)
    return value


def _ragged(real, label):
    def wrapper(obj, *args, **kwargs):
        try:
            return real(obj, *args, **kwargs)
        except ValueError as e:
            if "inhomogeneous" not in str(e) or kwargs.get("dtype") is not None or (args and args[0] is not None):
                raise
            note(f"numpy.{label}(ragged)", "numpy")
            return real(obj, *args[1:], dtype=object, **kwargs)

    wrapper.__name__ = wrapper.__qualname__ = real.__name__
    wrapper.__doc__ = real.__doc__
    return wrapper


class NumpyView(types.ModuleType):
    """``numpy`` as the script's files see it: the real module's names, the removed ones
    again, ragged ``array``/``asarray`` as object arrays."""

    def __init__(self):
        super().__init__("numpy", _np.__doc__)
        self.__dict__.update(__file__=_np.__file__, __path__=_np.__path__, __version__=_np.__version__,
                             __all__=list(getattr(_np, "__all__", [])), __spec__=_np.__spec__,
                             array=_ragged(_np.array, "array"), asarray=_ragged(_np.asarray, "asarray"))

    def __getattr__(self, name):
        try:
            value = getattr(_np, name)
        except AttributeError:
            if name not in REMOVED:
                raise
            note(f"np.{name}", "numpy")
            return _removed_value(name)
        if not name.startswith("__"):
            self.__dict__[name] = value  # later reads cost nothing
        return value

    def __setattr__(self, name, value):
        setattr(_np, name, value)
        self.__dict__.pop(name, None)

    def __dir__(self):
        return sorted(set(dir(_np)) | set(self.__dict__))


_VIEW: list = []


def printing():
    """NumPy 1.x's printing: scalars print as ``1.1``, not NumPy 2's ``np.float64(1.1)``
    (NEP 51), so a script's tuples and lists of NumPy numbers print as they did."""
    if int(_np.__version__.split(".")[0]) >= 2:  # NumPy 1.x (``--against tf2.15``'s) prints so already
        _np.set_printoptions(legacy="1.25")


def view():
    if not _VIEW:
        for name, (_value, today) in REMOVED.items():
            MAP[f"np.{name}"] = (f"{today} (NumPy removed np.{name})", None)
        MAP["numpy.array(ragged)"] = ("np.array(rows, dtype=object): NumPy 1.24+ raises on ragged rows", None)
        MAP["numpy.asarray(ragged)"] = ("np.asarray(rows, dtype=object): NumPy 1.24+ raises on ragged rows", None)
        MAP["numpy.float(array)"] = ("float(a.item()) (NumPy 2.4 raises for arrays of one element with ndim > 0)",
                                     None)
        MAP["numpy.int(array)"] = ("int(a.item()) (NumPy 2.4 raises for arrays of one element with ndim > 0)", None)
        MAP["numpy.setitem(array)"] = ("x[i] = a.item() (NumPy 2 raises storing a one-element array into an "
                                       "element)", None)
        _VIEW.append(NumpyView())
    return _VIEW[0]


# -- the conversions, rewritten where the script's code does them --------------------------------
def scalar(kind, x):
    """``float(x)`` / ``int(x)`` (``kind`` is whatever the script's ``float`` / ``int`` is)."""
    __tracebackhide__ = True  # the script's own conversion: its error is the script's (boot.print_script_error)
    try:
        return kind(x)
    except TypeError:
        if isinstance(x, _np.ndarray) and x.ndim and x.size == 1 and kind in (float, int, complex):
            note(f"numpy.{kind.__name__}(array)", "numpy")
            return kind(x.reshape(()))
        raise


def setitem(value, obj, key):
    """``obj[key] = value``; the arguments in Python's order of evaluation (the value first)."""
    __tracebackhide__ = True
    try:
        obj[key] = value
    except (ValueError, TypeError):
        if isinstance(obj, _np.ndarray) and isinstance(value, _np.ndarray) and value.ndim and value.size == 1:
            note("numpy.setitem(array)", "numpy")
            obj[key] = value.reshape(())
        else:
            raise


def augset(obj, key, op, value):
    """``obj[key] op= value``: what Python does (``__getitem__``, the in-place operator,
    ``__setitem__``), with ``setitem``'s NumPy 1.x store. One difference: ``value`` is
    evaluated before ``obj[key]`` is read (Python reads it first), which matters only where
    evaluating ``value`` changes ``obj[key]``."""
    __tracebackhide__ = True
    setitem(op(obj[key], value), obj, key)


_AUG = {ast.Add: "iadd", ast.Sub: "isub", ast.Mult: "imul", ast.Div: "itruediv", ast.FloorDiv: "ifloordiv",
        ast.Mod: "imod", ast.Pow: "ipow", ast.MatMult: "imatmul", ast.BitAnd: "iand", ast.BitOr: "ior",
        ast.BitXor: "ixor", ast.LShift: "ilshift", ast.RShift: "irshift"}


def _index(node):
    """A subscript's index as an expression (slices become ``slice(...)`` calls)."""
    if isinstance(node, ast.Slice):
        parts = [p if p is not None else ast.Constant(None) for p in (node.lower, node.upper, node.step)]
        return ast.Call(ast.Name("slice", ast.Load()), [_index(p) for p in parts], [])
    if isinstance(node, ast.Tuple) and any(isinstance(e, ast.Slice) for e in node.elts):
        return ast.Tuple([_index(e) for e in node.elts], ast.Load())
    return node


class _Rewrite(ast.NodeTransformer):
    def __init__(self, shadowed):
        self.shadowed = shadowed

    def visit_Call(self, node):
        self.generic_visit(node)
        f = node.func
        if (isinstance(f, ast.Name) and f.id in ("float", "int") and f.id not in self.shadowed
                and len(node.args) == 1 and not node.keywords and not isinstance(node.args[0], ast.Starred)):
            return ast.copy_location(ast.Call(ast.Name("__tfrepro_scalar__", ast.Load()),
                                              [ast.Name(f.id, ast.Load()), node.args[0]], []), node)
        return node

    def visit_Assign(self, node):
        self.generic_visit(node)
        if len(node.targets) == 1 and isinstance(node.targets[0], ast.Subscript):
            t = node.targets[0]
            call = ast.Call(ast.Name("__tfrepro_setitem__", ast.Load()), [node.value, t.value, _index(t.slice)], [])
            return ast.copy_location(ast.Expr(call), node)
        return node

    def visit_AugAssign(self, node):
        self.generic_visit(node)
        if isinstance(node.target, ast.Subscript) and type(node.op) in _AUG:
            t = node.target
            op = ast.Attribute(ast.Name("__tfrepro_operator__", ast.Load()), _AUG[type(node.op)], ast.Load())
            call = ast.Call(ast.Name("__tfrepro_augset__", ast.Load()), [t.value, _index(t.slice), op, node.value], [])
            return ast.copy_location(ast.Expr(call), node)
        return node


def transform(tree: ast.Module) -> ast.Module:
    """The script's syntax tree with the two NumPy 1.x conversions (module docstring)."""
    shadowed = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and not isinstance(n.ctx, ast.Load)}
    shadowed |= {n.name for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
    shadowed |= {a.asname or a.name for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom))
                 for a in n.names}
    tree = _Rewrite(shadowed).visit(tree)
    vars(builtins)["__tfrepro_scalar__"] = scalar
    vars(builtins)["__tfrepro_setitem__"] = setitem
    vars(builtins)["__tfrepro_augset__"] = augset
    vars(builtins)["__tfrepro_operator__"] = operator
    return ast.fix_missing_locations(tree)
