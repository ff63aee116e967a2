"""Diagrams drawn in bdsim's graphical editor (bdedit): :func:`load` reads a ``.bd`` file into a BlockDiagram.

A ``.bd`` file is JSON: a list of ``blocks`` (each with its ``block_type``, its
``title``, input and output sockets and ``parameters`` as ``[name, value]``
pairs), a list of ``wires`` from an output socket to an input socket, and
optionally the editor's ``simulation_time``. ``CONNECTOR`` blocks (the editor's
wire bends) are followed through; ``MAIN`` blocks, labels and grouping boxes are
drawing only. The diagram is built with
:func:`lstmds_sim.core.bdsim_adapter.blockdiagram`, so bdsim's blocks and ours
are both available and :func:`lstmds_sim.run` runs it.

Parameters and what evaluating them means
-----------------------------------------
A parameter's value is JSON (a number, a list, ``true``, ``null``, a string).
bdsim's own loader (``bdsim.bdload``) passes strings to Python's ``eval``: one
written ``"=expression"`` always, and any other string too unless
``allow_eval=False`` (it keeps the string when ``eval`` fails with a NameError
or SyntaxError). ``eval`` runs arbitrary code: a ``.bd`` file from someone else
can delete files or read secrets the moment it is loaded, before anything is
simulated. So this loader has two modes:

``safe=True`` (the default)
    Nothing in the file is executed. A string is parsed (``ast.parse``, never
    compiled) and evaluated by a small interpreter that knows only literals
    (numbers, strings, lists, tuples, dicts, ``True``/``False``/``None``),
    arithmetic (``+ - * / // % ** @``), the constant ``pi`` and a whitelist of
    numpy and math functions and constants (``np.array``, ``np.diag``,
    ``np.eye``, ``math.sqrt``, ``np.pi``, ...; :data:`SAFE_FUNCTIONS`), with
    limits on the size of what it makes. Anything else (a ``lambda``, a call of
    another function, an attribute, a dunder, a comprehension) is refused with
    one line naming the block and parameter, before anything in it is
    evaluated, and telling to pass ``safe=False`` (``--unsafe`` on the command
    line) only for a trusted file. A string that is not an expression (``"+-"``)
    or names an unknown variable (``"auto"``) stays a string, as with bdsim. A
    ``SUBSYSTEM`` naming a ``.bd`` file is loaded in the same mode; one naming a
    Python module (which importing would run) is refused.
``safe=False``
    Expressions are evaluated with Python's ``eval`` exactly as bdsim's loader
    does (names ``np``, ``math``, ``pi``, spatialmath's ``SE2``/``SE3`` when
    installed, and ``namespace``): a ``FUNCTION`` block's ``"=lambda x: ..."``
    needs it. Use it only for files you trust as you would trust a Python script.

Whatever the mode, a value safe mode accepts evaluates to the same value in both.

One addition to the format: a sampled block's ``clock`` parameter given as a
number (seconds) gets a clock of that period (blocks that give the same period
share one), so discrete-time blocks (``UNITDELAY``, ``ZOH``, ...) can be drawn in
the editor; bdsim's loader has no way to make a clock.
"""

from __future__ import annotations

import ast
import builtins
import inspect
import json
import keyword
import math
import numbers
import operator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .errors import LSTMDSError

__all__ = ["SAFE_FUNCTIONS", "BdFileError", "BdFileInfo", "UnsafeExpressionError", "load", "safe_eval"]


class BdFileError(LSTMDSError, ValueError):
    """A ``.bd`` file that cannot be read as a diagram; the message names the file and the block."""


class UnsafeExpressionError(BdFileError):
    """Safe mode met an expression it does not evaluate (a lambda, a call of an unlisted function, ...)."""


@dataclass(frozen=True)
class BdFileInfo:
    """What :func:`load` keeps about the file on the diagram (``bd.bdfile``)."""

    path: Path
    #: the editor's simulation time (seconds), or None when the file has none
    simulation_time: float | None
    #: whether the file was loaded in safe mode
    safe: bool


#: the numpy functions and constants safe mode evaluates, as ``np.NAME`` (or ``numpy.NAME``)
_NUMPY_NAMES = (
    "array", "asarray", "diag", "eye", "identity", "zeros", "ones", "full", "linspace", "arange",
    "hstack", "vstack", "concatenate", "transpose", "reshape", "polymul", "polyadd", "convolve", "poly",
    "sqrt", "exp", "log", "log10", "log2", "sin", "cos", "tan", "arcsin", "arccos", "arctan", "arctan2",
    "sinh", "cosh", "tanh", "deg2rad", "rad2deg", "radians", "degrees", "abs", "absolute", "sign",
    "floor", "ceil", "round", "clip", "dot", "matmul", "pi", "e", "inf", "nan",
    "float64", "float32", "int64", "int32", "complex128",
)
#: the math functions and constants safe mode evaluates, as ``math.NAME``
_MATH_NAMES = (
    "sqrt", "exp", "log", "log10", "log2", "sin", "cos", "tan", "asin", "acos", "atan", "atan2",
    "sinh", "cosh", "tanh", "radians", "degrees", "hypot", "fabs", "floor", "ceil", "pi", "e", "tau", "inf", "nan",
)
#: bare names safe mode evaluates (those bdsim's loader has, ``pi``, and a few of Python's builtins)
_BARE_NAMES = {"pi": math.pi, "abs": abs, "min": min, "max": max, "round": round, "int": int, "float": float,
               "complex": complex, "bool": bool, "sum": sum}
_MODULES = {"np": (np, _NUMPY_NAMES), "numpy": (np, _NUMPY_NAMES), "math": (math, _MATH_NAMES)}

#: every function and constant safe mode evaluates, as written in a file
SAFE_FUNCTIONS = tuple(sorted(
    [f"np.{n}" for n in _NUMPY_NAMES] + [f"math.{n}" for n in _MATH_NAMES] + sorted(_BARE_NAMES)))

#: the most elements safe mode lets an expression make (a 1000 x 1000 matrix)
MAX_ELEMENTS = 1_000_000
_MAX_INT_BITS = 4096  # a larger integer power is refused (9**9**9 would take minutes)

_BINARY = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
           ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod, ast.Pow: operator.pow, ast.MatMult: operator.matmul}
_UNARY = {ast.USub: operator.neg, ast.UAdd: operator.pos}
# functions whose arguments say how many elements they make
_SIZED = {"zeros", "ones", "full", "eye", "identity", "linspace", "arange", "diag"}
_PRODUCTS = {"dot", "matmul"}


#: how a refusal names a construct outside safe mode's language
_KINDS = {"Lambda": "a lambda", "ListComp": "a comprehension", "SetComp": "a comprehension",
          "DictComp": "a comprehension", "GeneratorExp": "a generator", "JoinedStr": "an f-string",
          "Subscript": "indexing", "Compare": "a comparison", "BoolOp": "and/or", "IfExp": "a conditional",
          "NamedExpr": "an assignment (:=)", "Set": "a set", "Await": "await", "Yield": "yield",
          "YieldFrom": "yield", "Starred": "unpacking (*)", "Slice": "a slice", "FormattedValue": "an f-string"}


class _Refused(Exception):
    """Inside the safe evaluator: a construct it does not evaluate (becomes UnsafeExpressionError)."""


class _Unknown(Exception):
    """Inside the safe evaluator: a name it does not know (Python's NameError)."""


# --------------------------------------------------------------------------- #
# the safe evaluator: checks the whole tree, then evaluates it
# --------------------------------------------------------------------------- #


class _Module:
    """``np``/``numpy``/``math`` inside the safe evaluator: only its listed names can be read."""

    def __init__(self, name: str):
        self.name = name
        self.module, self.names = _MODULES[name]


def _check(node: ast.AST, constants: dict) -> None:
    """Refuse (``_Refused``) any construct outside safe mode's language, anywhere in the tree."""
    if isinstance(node, ast.Expression):
        return _check(node.body, constants)
    if isinstance(node, ast.Constant):
        return None
    if isinstance(node, (ast.List, ast.Tuple)):
        for element in node.elts:
            if isinstance(element, ast.Starred):
                raise _Refused("unpacking (*)")
            _check(element, constants)
        return None
    if isinstance(node, ast.Dict):
        if any(key is None for key in node.keys):
            raise _Refused("unpacking (**)")
        for part in (*node.keys, *node.values):
            _check(part, constants)
        return None
    if isinstance(node, ast.BinOp):
        if type(node.op) not in _BINARY:
            raise _Refused(f"the operator {type(node.op).__name__}")
        _check(node.left, constants)
        return _check(node.right, constants)
    if isinstance(node, ast.UnaryOp):
        if type(node.op) not in _UNARY:
            raise _Refused(f"the operator {type(node.op).__name__}")
        return _check(node.operand, constants)
    if isinstance(node, ast.Name):
        if node.id in constants or node.id in _BARE_NAMES or node.id in _MODULES:
            return None
        if node.id.startswith("__") or hasattr(builtins, node.id):
            raise _Refused(f"the name {node.id!r}" + (" (a Python builtin)" if hasattr(builtins, node.id) else ""))
        return None  # an unknown name: Python's NameError when evaluated
    if isinstance(node, ast.Attribute):
        if not (isinstance(node.value, ast.Name) and node.value.id in _MODULES
                and node.value.id not in constants and node.attr in _MODULES[node.value.id][1]):
            if not isinstance(node.value, ast.Name):
                _check(node.value, constants)  # a call inside (open(...).write) is the clearer reason
            raise _Refused(f"the attribute {ast.unparse(node)!r}")
        return None
    if isinstance(node, ast.Call):
        func = node.func
        named = isinstance(func, ast.Name) and func.id in _BARE_NAMES and func.id not in constants \
            and callable(_BARE_NAMES[func.id])
        if not (named or isinstance(func, ast.Attribute)):
            if not isinstance(func, ast.Name):
                _check(func, constants)  # what is called (a lambda calling open) may be the clearer reason
            raise _Refused(f"a call of {ast.unparse(func)!r}")
        _check(func, constants)
        for arg in node.args:
            if isinstance(arg, ast.Starred):
                raise _Refused("unpacking (*)")
            _check(arg, constants)
        for keyword in node.keywords:
            if keyword.arg is None:
                raise _Refused("unpacking (**)")
            _check(keyword.value, constants)
        return None
    for child in ast.iter_child_nodes(node):  # name a call or attribute inside it first: the clearer reason
        if isinstance(child, ast.expr):
            _check(child, constants)
    raise _Refused(_KINDS.get(type(node).__name__, type(node).__name__))


def _elements(value) -> int:
    return int(np.size(value)) if isinstance(value, (np.ndarray, list, tuple)) else 1


def _check_size(n: float, what: str) -> None:
    if not n <= MAX_ELEMENTS:
        raise _Refused(f"{what} making {n:.3g} elements (it makes at most {MAX_ELEMENTS:,})")


def _sized_call(name: str, args: list, kwargs: dict) -> None:
    """Refuse a call of np.zeros, np.arange, ... that would make more than MAX_ELEMENTS elements."""
    try:
        if name in ("zeros", "ones", "full"):
            shape = args[0] if args else kwargs.get("shape", 1)
            n = float(np.prod(np.asarray(shape, dtype=float)))
        elif name in ("eye", "identity"):
            rows = args[0] if args else kwargs.get("N", kwargs.get("n", 1))
            cols = args[1] if name == "eye" and len(args) > 1 and args[1] is not None else kwargs.get("M") or rows
            n = float(rows) * float(cols)
        elif name == "diag":  # a vector becomes a square matrix
            n = float(np.size(args[0])) ** 2 if np.ndim(args[0]) == 1 else float(np.size(args[0]))
        elif name == "linspace":
            n = float(args[2] if len(args) > 2 else kwargs.get("num", 50))
        else:  # arange(stop) / arange(start, stop[, step])
            start, stop, step = (0, args[0], 1) if len(args) == 1 else (args[0], args[1], args[2] if len(args) > 2 else 1)
            n = math.ceil(abs((float(stop) - float(start)) / float(step))) if step else 0
    except (TypeError, ValueError, IndexError, OverflowError, ZeroDivisionError):
        return  # numpy will say what is wrong with the arguments
    _check_size(n, f"np.{name}")


def _product_size(a, b) -> float:
    """How many elements ``a @ b`` (np.dot, np.matmul) makes, at most."""
    sa, sb = np.shape(a), np.shape(b)
    rows = sa[-2] if len(sa) >= 2 else 1
    cols = sb[-1] if len(sb) >= 2 else 1
    lead = max(float(np.prod(sa[:-2], dtype=float)), float(np.prod(sb[:-2], dtype=float)))
    return float(rows) * float(cols) * lead


def _number_or_array(value) -> bool:
    return isinstance(value, (numbers.Number, np.ndarray, np.number)) and not isinstance(value, (str, bytes))


def _evaluate(node: ast.AST, constants: dict):
    """Evaluate a tree that :func:`_check` accepted. Raises _Unknown for an unknown name."""
    if isinstance(node, ast.Expression):
        return _evaluate(node.body, constants)
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.List):
        return [_evaluate(e, constants) for e in node.elts]
    if isinstance(node, ast.Tuple):
        return tuple(_evaluate(e, constants) for e in node.elts)
    if isinstance(node, ast.Dict):
        return {_evaluate(k, constants): _evaluate(v, constants) for k, v in zip(node.keys, node.values)}
    if isinstance(node, ast.UnaryOp):
        operand = _evaluate(node.operand, constants)
        if not _number_or_array(operand):
            raise _Refused(f"a sign on a {type(operand).__name__} (it does arithmetic on numbers and arrays)")
        return _UNARY[type(node.op)](operand)
    if isinstance(node, ast.BinOp):
        left, right = _evaluate(node.left, constants), _evaluate(node.right, constants)
        for side in (left, right):
            if not _number_or_array(side):
                raise _Refused(f"arithmetic on a {type(side).__name__} (it does arithmetic on numbers and arrays; "
                               "np.array makes a list an array)")
        if isinstance(node.op, ast.Pow) and isinstance(left, int) and isinstance(right, int) \
                and right > 0 and left.bit_length() * right > _MAX_INT_BITS:
            raise _Refused(f"the integer power {left}**{right} (too large)")
        if isinstance(node.op, ast.MatMult):
            _check_size(_product_size(left, right), "the product @")
        elif isinstance(left, np.ndarray) or isinstance(right, np.ndarray):
            try:
                shape = np.broadcast_shapes(np.shape(left), np.shape(right))
            except ValueError:
                shape = ()
            _check_size(float(np.prod(shape, dtype=float)), "the arithmetic")
        return _BINARY[type(node.op)](left, right)
    if isinstance(node, ast.Name):
        if node.id in constants:
            return constants[node.id]
        if node.id in _BARE_NAMES:
            return _BARE_NAMES[node.id]
        if node.id in _MODULES:
            return _Module(node.id)
        raise _Unknown(node.id)
    if isinstance(node, ast.Attribute):
        return getattr(_MODULES[node.value.id][0], node.attr)
    if isinstance(node, ast.Call):
        func = _evaluate(node.func, constants)
        args = [_evaluate(a, constants) for a in node.args]
        kwargs = {k.arg: _evaluate(k.value, constants) for k in node.keywords}
        for value in (*args, *kwargs.values()):
            if isinstance(value, _Module) or (callable(value) and not isinstance(value, type)):
                raise _Refused("a function passed as an argument")
        if isinstance(node.func, ast.Attribute) and node.func.value.id in ("np", "numpy"):
            if node.func.attr in _SIZED:
                _sized_call(node.func.attr, args, kwargs)
            elif node.func.attr in _PRODUCTS and len(args) >= 2:
                _check_size(_product_size(args[0], args[1]), f"np.{node.func.attr}")
        result = func(*args, **kwargs)
        if isinstance(result, np.ndarray):
            _check_size(float(result.size), ast.unparse(node.func))
        return result
    raise _Refused(type(node).__name__)  # _check refused it already


def safe_eval(text: str, constants: dict | None = None):
    """Evaluate ``text`` in safe mode's small language (see the module's docstring) without executing code.

    Raises :class:`UnsafeExpressionError` for anything outside it (checked on
    the whole expression before any of it is evaluated), ``NameError`` for an
    unknown name, ``SyntaxError`` for text that is not an expression, and what
    numpy or arithmetic raise (``ZeroDivisionError``, ``ValueError``, ...).
    """
    constants = dict(constants or {})
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except ValueError as err:  # a null byte (Python 3.11)
        raise SyntaxError(str(err)) from None
    except (RecursionError, MemoryError):
        raise UnsafeExpressionError("the expression is too deeply nested for safe mode") from None
    try:
        _check(tree, constants)
        value = _evaluate(tree, constants)
        if isinstance(value, _Module):
            raise _Refused(f"the module {value.name!r} itself")
        return value
    except _Refused as why:
        raise UnsafeExpressionError(f"safe mode does not evaluate {why}") from None
    except _Unknown as name:
        raise NameError(f"name {str(name)!r} is not defined") from None
    except (RecursionError, MemoryError):
        raise UnsafeExpressionError("the expression is too large for safe mode") from None


# --------------------------------------------------------------------------- #
# the loader
# --------------------------------------------------------------------------- #


def _unsafe_namespace(extra: dict | None) -> dict:
    """The names bdsim's loader gives ``eval`` (np, math, pi, SE2/SE3 when installed), then ``extra``."""
    names: dict[str, Any] = {"np": np, "math": math, "pi": math.pi}
    try:
        from spatialmath import SE2, SE3

        names.update(SE2=SE2, SE3=SE3)
    except ImportError:
        pass
    return {**names, **(extra or {})}


class _Loader:
    """One ``load`` call: the file, the mode, and the diagram being built."""

    def __init__(self, path: Path, safe: bool, namespace: dict | None, stack: tuple[Path, ...]):
        self.path, self.safe, self.stack = path, safe, stack
        self.namespace = namespace
        self.where = str(path)
        self.clocks: dict[float, Any] = {}
        self.names: set[str] = set()

    # ----------------------------------------------------------------- reading
    def fail(self, message: str, cls=BdFileError):
        return cls(" ".join(f"{self.where}: {message}".split()))

    def read(self) -> dict:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise FileNotFoundError(f"{self.path}: no such file; give the path of a diagram saved by bdedit "
                                    "(FILE.bd)") from None
        except IsADirectoryError:
            raise IsADirectoryError(f"{self.path} is a folder; give the path of a diagram saved by bdedit "
                                    "(FILE.bd)") from None
        except UnicodeDecodeError:
            raise self.fail("not a text file; a .bd file is the JSON bdedit saves") from None
        try:
            model = json.loads(text)
        except ValueError as err:
            raise self.fail(f"not a bdedit diagram (not JSON: {err}); a .bd file is the JSON bdedit saves") from None
        if not isinstance(model, dict) or not isinstance(model.get("blocks"), list) \
                or not isinstance(model.get("wires", []), list):
            raise self.fail("not a bdedit diagram: the JSON has no list of \"blocks\" (and \"wires\"); "
                            "open and save it in bdedit")
        return model

    def simulation_time(self, model: dict) -> float | None:
        value = model.get("simulation_time")
        if value is None:
            return None
        try:
            value = float(value)
        except (TypeError, ValueError):
            raise self.fail(f"\"simulation_time\" is {model['simulation_time']!r}, not a number of seconds") from None
        if not (math.isfinite(value) and value > 0):
            raise self.fail(f"\"simulation_time\" is {value!r}; give a finite time > 0 in seconds")
        return value

    # -------------------------------------------------------------- parameters
    def resolve(self, label: str, key: str, value):
        """A parameter's value as the block gets it (see the module docstring)."""
        if not isinstance(value, str):
            return value
        forced = value.startswith("=")
        text = value[1:] if forced else value
        what = f"block {label} parameter {key!r}"
        word = text.strip()
        if self.safe and not forced and word.isidentifier() and not keyword.iskeyword(word) \
                and word not in (self.namespace or {}) and word not in _BARE_NAMES:
            return value  # a bare word is text ("auto"); bdsim's eval would turn "all" or "np" into an object
        try:
            if self.safe:
                return safe_eval(text, self.namespace)
            namespace = _unsafe_namespace(self.namespace)
            return eval(text, namespace)  # safe=False: the user trusts this file, as bdsim's loader does
        except UnsafeExpressionError as err:
            raise self.fail(
                f"{what}: {value!r}: {err}; load the file with safe=False (lstmds ... --unsafe) only if you trust "
                "it, since its expressions then run as Python code", UnsafeExpressionError) from None
        except (NameError, SyntaxError, ValueError) as err:
            if not forced and isinstance(err, (NameError, SyntaxError)):
                return value  # not an expression, or an unknown name: the string itself (as bdsim does)
            if isinstance(err, SyntaxError):
                err = f"not a Python expression ({err.msg})"
            raise self.fail(f"{what}: {value!r} cannot be evaluated: {err}") from None
        except Exception as err:  # noqa: BLE001  (what numpy or the arithmetic raised)
            raise self.fail(f"{what}: {value!r} cannot be evaluated: {type(err).__name__}: {err}") from None

    def clock(self, period, label: str):
        """A clock of ``period`` seconds for a sampled block (one per period)."""
        if isinstance(period, bool) or not isinstance(period, numbers.Real) or not (math.isfinite(period) and period > 0):
            raise self.fail(f"block {label} parameter 'clock': {period!r}; give the sample period in seconds, "
                            "a number > 0")
        period = float(period)
        if period not in self.clocks:
            self.clocks[period] = self.bd.clock(period, name=f"clock {period:g} s")
        return self.clocks[period]

    def subsystem(self, value, label: str):
        """SUBSYSTEM's ``subsys``: a .bd file (loaded here, in the same mode, relative to this file) or refused."""
        if not isinstance(value, str):
            return value
        if not value.lower().endswith(".bd"):
            if self.safe:
                raise self.fail(
                    f"block {label} parameter 'subsys': {value!r} names a Python module, which importing would run; "
                    "load the file with safe=False (lstmds ... --unsafe) only if you trust it", UnsafeExpressionError)
            return value
        target = Path(value)
        if not target.is_absolute():
            target = self.path.parent / target
        if target.resolve() in self.stack:
            raise self.fail(f"block {label}: the subsystem {value!r} contains itself")
        return _load(target, safe=self.safe, namespace=self.namespace, stack=self.stack)

    # ------------------------------------------------------------------ blocks
    @staticmethod
    def library() -> dict:
        """Block type -> class: bdsim's blocks and ours (a class is made as the diagram's factory makes it,
        ``cls(bd=bd, **params)``, without the factory's printed traceback on a bad parameter)."""
        from .bdsim_adapter import block_classes, stock_blocks

        return {**{name: cls for name, (cls, _) in stock_blocks().items()}, **block_classes()}

    def make_block(self, block: dict, index: int, library: dict):
        kind = block.get("block_type")
        title = block.get("title")
        if not isinstance(title, str) or not title.strip():
            title = f"{str(kind).lower()}{index}"
        label = f"{title!r} ({kind})"
        if kind not in library:
            raise self.fail(f"block {title!r} has the type {kind!r}, which is neither bdsim's nor lstmds's "
                            "(lstmds_sim.block_classes() and bdsim's library list them); fix the block type")
        raw = block.get("parameters", [])
        try:
            pairs = list(raw.items()) if isinstance(raw, dict) else [(k, v) for k, v in raw]
        except (TypeError, ValueError):
            raise self.fail(f"block {label}: \"parameters\" must be a list of [name, value] pairs") from None
        params: dict[str, Any] = {}
        for key, value in pairs:
            if not isinstance(key, str) or not key.isidentifier():
                raise self.fail(f"block {label}: parameter name {key!r} is not a name")
            if key == "subsys" and kind == "SUBSYSTEM":
                params[key] = self.subsystem(value, label)
            elif key == "movie" and self.safe:
                params[key] = value  # refused below (also when it comes in blockargs)
            else:
                params[key] = self.resolve(label, key, value)
        blockargs = params.pop("blockargs", None) or {}
        if not isinstance(blockargs, dict):
            raise self.fail(f"block {label}: parameter 'blockargs' must be a dict of block options, "
                            f"got {blockargs!r}")
        params = {**params, **blockargs}
        if self.safe and params.get("movie") is not None:
            raise self.fail(f"block {label} parameter 'movie': {params['movie']!r} would write a file; load the "
                            "file with safe=False (lstmds ... --unsafe) only if you trust it", UnsafeExpressionError)
        if isinstance(params.get("clock"), numbers.Real):
            params["clock"] = self.clock(params["clock"], label)
        for count, sockets in (("nin", block.get("inputs") or []), ("nout", block.get("outputs") or [])):
            if count not in params and len(sockets) > 1 and self.takes(library[kind], count):
                params[count] = len(sockets)  # bdedit saves a variable port count only as sockets (SCOPE, MUX)
        params.setdefault("name", title)
        if params["name"] in self.names:
            raise self.fail(f"two blocks are named {params['name']!r}; give each block its own title")
        try:
            made = library[kind](bd=self.bd, **params)
        except LSTMDSError as err:
            raise self.fail(f"block {label}: {err}") from None
        except Exception as err:  # noqa: BLE001  (bdsim's blocks raise many kinds; name the block either way)
            raise self.fail(f"block {label} cannot be made from its parameters: {type(err).__name__}: {err}; "
                            "fix them in the file") from None
        return made

    @staticmethod
    def takes(block_class, count: str) -> bool:
        """Whether a block class has a variable number of ports set by its parameter ``count`` (nin, nout)."""
        try:
            return getattr(block_class, count, None) == -1 \
                and count in inspect.signature(block_class.__init__).parameters
        except (TypeError, ValueError):
            return False

    # ------------------------------------------------------------------- build
    def build(self):
        from .bdsim_adapter import blockdiagram

        model = self.read()
        simulation_time = self.simulation_time(model)
        self.bd = blockdiagram(self.path.stem)
        library = self.library()
        outputs: dict = {}     # output socket id -> (block, port)
        inputs: dict = {}      # input socket id -> (block, port, label)
        connectors: dict = {}  # a connector's output socket id -> its input socket id
        for index, block in enumerate(model["blocks"]):
            if not isinstance(block, dict) or not isinstance(block.get("block_type"), str):
                raise self.fail(f"block {index} has no \"block_type\"; open and save the file in bdedit")
            kind = block["block_type"]
            sockets_in, sockets_out = block.get("inputs") or [], block.get("outputs") or []
            if kind == "MAIN":
                continue
            if kind == "CONNECTOR":
                if len(sockets_in) != 1 or len(sockets_out) != 1:
                    raise self.fail(f"connector {block.get('id')!r} must have one input and one output socket")
                connectors[self.socket_id(sockets_out[0], block)] = self.socket_id(sockets_in[0], block)
                continue
            made = self.make_block(block, index, library)
            self.names.add(made.name)
            label = f"{made.name!r} ({kind})"
            for socket in sockets_out:
                port = self.socket_index(socket, block)
                if port >= made.nout:
                    raise self.fail(f"block {label} has output socket {port} but {made.nout} output(s)")
                outputs[self.socket_id(socket, block)] = (made, port)
            for socket in sockets_in:
                port = self.socket_index(socket, block)
                if port >= made.nin:
                    raise self.fail(f"block {label} has input socket {port} but {made.nin} input(s)")
                inputs[self.socket_id(socket, block)] = (made, port, label)
        feeds: dict = {}  # input socket id -> output socket id
        for wire in model.get("wires", []):
            try:
                start, end = wire["start_socket"], wire["end_socket"]
            except (TypeError, KeyError):
                raise self.fail(f"a wire has no \"start_socket\"/\"end_socket\": {wire!r}") from None
            if end in feeds and feeds[end] != start:
                raise self.fail(f"two wires end at socket {end!r}; an input takes one wire")
            feeds[end] = start
        for socket, (made, port, label) in inputs.items():
            if socket not in feeds:
                raise self.fail(f"block {label} input {port} is not connected; draw a wire to it in bdedit")
            start, seen = feeds[socket], set()
            while start in connectors:  # through the editor's wire bends
                if start in seen or connectors[start] not in feeds:
                    raise self.fail(f"block {label} input {port}: its wire ends in an unconnected connector")
                seen.add(start)
                start = feeds[connectors[start]]
            if start not in outputs:
                raise self.fail(f"block {label} input {port}: its wire starts at socket {start!r}, which is no "
                                "block's output")
            source, source_port = outputs[start]
            self.bd.connect(source[source_port], made[port])
        self.bd.bdfile = BdFileInfo(self.path, simulation_time, self.safe)
        return self.bd

    def socket_id(self, socket, block: dict):
        if not isinstance(socket, dict) or "id" not in socket:
            raise self.fail(f"block {block.get('title')!r}: a socket has no \"id\"")
        return socket["id"]

    def socket_index(self, socket, block: dict) -> int:
        index = socket.get("index") if isinstance(socket, dict) else None
        if isinstance(index, bool) or not isinstance(index, int) or index < 0:
            raise self.fail(f"block {block.get('title')!r}: a socket's \"index\" is {index!r}, not a port number")
        return index


def _load(path: Path, *, safe: bool, namespace: dict | None, stack: tuple[Path, ...]):
    loader = _Loader(path, safe, namespace, stack + (path.resolve(),))
    return loader.build()


def load(path, *, safe: bool = True, namespace: dict | None = None):
    """Read a diagram drawn in bdsim's editor (a bdedit ``.bd`` file) as a BlockDiagram.

    Parameters
    ----------
    path : str or Path
        The ``.bd`` file (JSON, as bdedit saves it).
    safe : bool, default True
        Evaluate the file's expressions without executing code: literals,
        arithmetic, ``pi`` and the numpy/math names of :data:`SAFE_FUNCTIONS`;
        anything else is refused with one line naming the block and parameter
        (:class:`UnsafeExpressionError`). ``safe=False`` evaluates them with
        Python's ``eval``, as bdsim's own loader does: it runs whatever code the
        file holds, so use it only for files you trust (see the module docstring).
    namespace : dict, optional
        Extra names for the expressions (bdsim's ``globalvars``). In safe mode
        they are constants: numbers, arrays, lists of numbers.

    Returns
    -------
    bdsim BlockDiagram
        Built with :func:`lstmds_sim.blockdiagram` (bdsim's blocks and ours),
        named after the file, each block named by its title; run it with
        :func:`lstmds_sim.run`. ``bd.bdfile`` is a :class:`BdFileInfo`: the
        path, the editor's ``simulation_time`` (seconds, or None) and the mode.

    Raises
    ------
    FileNotFoundError
        No such file.
    BdFileError
        The file is not a bdedit diagram, a block type is unknown, a parameter
        cannot be evaluated or a block cannot be made from it, an input is not
        connected: one line naming the file and the block.
    UnsafeExpressionError
        (safe mode) An expression it does not evaluate.

    Examples
    --------
    >>> import lstmds_sim as L
    >>> bd = L.load("tests/data/eg1.bd")            # doctest: +SKIP
    >>> result = L.run(bd, 500, dt=0.01)            # doctest: +SKIP
    >>> result.figures["scope"].savefig("eg1.png")  # doctest: +SKIP
    """
    path = Path(path)
    if namespace is not None:
        if not isinstance(namespace, dict) or not all(isinstance(k, str) for k in namespace):
            raise BdFileError(f"namespace must be a dict of names to values, got {type(namespace).__name__}")
        if safe:
            odd = [k for k, v in namespace.items() if not _constant(v)]
            if odd:
                raise BdFileError(f"namespace: {odd[0]!r} is not a number, array or list of numbers; safe mode "
                                  "takes only constants (pass safe=False for functions, and only for trusted files)")
    return _load(path, safe=bool(safe), namespace=namespace, stack=())


def _constant(value) -> bool:
    """A number, array, or (nested) list/tuple of numbers: what safe mode's namespace may hold."""
    if isinstance(value, (list, tuple)):
        return all(_constant(v) for v in value)
    if isinstance(value, np.ndarray):
        return value.dtype.kind in "biufc"
    return isinstance(value, (numbers.Number, np.number))
