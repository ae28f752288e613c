"""Derived model inputs: named arithmetic expressions of the parameters, appended to θ.

Trees split one input at a time, so a boundary along a combination of parameters (the ALP
model's prompt-decay wall follows c_μμ(mₐ)/fa, a linear combination of couplings divided by fa)
costs them many splits and many training points. Giving the combination as an input of its own
lets one split follow it. The config lists them (``surrogate.features``)::

    - {name: c_mumu_over_fa, expression: "(ceR + 0.229 * (cuR - cqL33)) * 10**(7 - log10_fa)"}

An expression may use the parameter names, the names of the features listed before it, numbers,
``+ - * / **``, parentheses and the functions in :data:`FUNCTIONS` (numpy's); nothing else is
evaluated (no attribute access, no other names). Parsing needs only the standard library, so the
Snakefile's config check can reject a bad expression before any job runs.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping, Sequence

__all__ = ["C_FUNCTIONS", "C_SYMBOL", "FLOAT32_MAX", "FUNCTIONS", "FeatureMap"]

FUNCTIONS = ("abs", "sqrt", "exp", "log", "log10", "sinh", "arcsinh", "tanh")
FLOAT32_MAX = 3.4028234663852886e38
_OPERATORS = (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Pow, ast.USub, ast.UAdd)

#: C (math.h) names of :data:`FUNCTIONS`, for :meth:`FeatureMap.c_source`.
C_FUNCTIONS = {
    "abs": "fabs",
    "sqrt": "sqrt",
    "exp": "exp",
    "log": "log",
    "log10": "log10",
    "sinh": "sinh",
    "arcsinh": "asinh",
    "tanh": "tanh",
}
_C_BINARY = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/"}
_C_UNARY = {ast.USub: "-", ast.UAdd: "+"}
#: The entry point of the C source: theta (n, d) float64 row-major -> X (n, d + k) float32.
C_SYMBOL = "globalfit_features"


def _check_expression(tree: ast.Expression, params: Mapping[str, set], where: str) -> set[str]:
    """The parameter names an expression uses, directly or through earlier features; ValueError
    naming anything not allowed. params : {name: the parameters it stands for}."""
    used, callees = set(), set()
    for node in ast.walk(tree):  # breadth first: a call is seen before the name it calls
        if isinstance(node, ast.Name):
            if node.id in params:
                used |= params[node.id]
            elif node.id in FUNCTIONS and id(node) not in callees:
                raise ValueError(f"{where}: the function {node.id!r} must be called")
            elif node.id not in FUNCTIONS:
                raise ValueError(
                    f"{where}: unknown name {node.id!r} (parameters and earlier features: "
                    f"{', '.join(params)}; functions: {', '.join(FUNCTIONS)})"
                )
        elif isinstance(node, ast.Call):
            if (
                not (isinstance(node.func, ast.Name) and node.func.id in FUNCTIONS)
                or node.keywords
                or len(node.args) != 1
            ):
                raise ValueError(
                    f"{where}: only one-argument calls of {', '.join(FUNCTIONS)} are allowed"
                )
            callees.add(id(node.func))
        elif isinstance(node, ast.Constant):
            if not isinstance(node.value, (int, float)) or isinstance(node.value, bool):
                raise ValueError(f"{where}: only numeric constants are allowed, got {node.value!r}")
        elif not isinstance(node, (ast.Expression, ast.BinOp, ast.UnaryOp, ast.Load) + _OPERATORS):
            raise ValueError(
                f"{where}: {type(node).__name__} is not allowed in a feature expression"
            )
    if not used:
        raise ValueError(f"{where}: the expression uses no parameter")
    return used


def _c_expression(node: ast.AST, variable: Mapping[str, str]) -> str:
    """A checked expression (see :func:`_check_expression`) as a C double expression."""
    if isinstance(node, ast.Expression):
        return _c_expression(node.body, variable)
    if isinstance(node, ast.Name):
        return variable[node.id]
    if isinstance(node, ast.Constant):
        return repr(float(node.value))
    if isinstance(node, ast.UnaryOp):
        return f"({_C_UNARY[type(node.op)]}{_c_expression(node.operand, variable)})"
    if isinstance(node, ast.BinOp):
        a, b = _c_expression(node.left, variable), _c_expression(node.right, variable)
        if isinstance(node.op, ast.Pow):
            # numpy squares exactly for a literal 2 (x * x), pow() may differ in the last bit
            if isinstance(node.right, ast.Constant) and node.right.value == 2:
                return f"globalfit_square({a})"
            return f"pow({a}, {b})"
        return f"({a} {_C_BINARY[type(node.op)]} {b})"
    if isinstance(node, ast.Call):
        return f"{C_FUNCTIONS[node.func.id]}({_c_expression(node.args[0], variable)})"
    raise ValueError(
        f"cannot translate {type(node).__name__} to C"
    )  # _check_expression let it through


class _Substitute(ast.NodeTransformer):
    """Names -> numbers (a negative one as a unary minus, so that precedence survives)."""

    def __init__(self, values: Mapping[str, float]):
        self.values = values

    def visit_Name(self, node):
        if node.id not in self.values:
            return node
        v = self.values[node.id]
        number = ast.Constant(abs(v))
        return ast.UnaryOp(ast.USub(), number) if v < 0 or str(v).startswith("-") else number


class FeatureMap:
    """θ (n, d) -> model inputs (n, d + k): the parameters, then k derived features.

    parameters : the parameter names, in θ's column order.
    features : [{"name": ..., "expression": ...}, ...] (see the module docstring); may be empty,
        and then the map returns θ itself.
    """

    def __init__(self, parameters: Sequence[str], features: Sequence[Mapping] = ()):
        self.parameters = tuple(parameters)
        self.features = [
            {"name": str(f["name"]), "expression": str(f["expression"])} for f in features
        ]
        self._code, self._trees, self.uses = [], [], []
        known = {p: {p} for p in self.parameters}  # name -> the parameters it depends on
        for i, f in enumerate(self.features):
            where = f"surrogate.features[{i}] ({f['name']!r})"
            if not f["name"].isidentifier() or f["name"] in known or f["name"] in FUNCTIONS:
                raise ValueError(
                    f"{where}: the name must be an identifier and differ from the parameters, "
                    "the functions and other features"
                )
            try:
                tree = ast.parse(f["expression"], mode="eval")
            except SyntaxError as exc:
                raise ValueError(f"{where}: cannot parse {f['expression']!r}: {exc.msg}") from None
            self.uses.append(_check_expression(tree, known, where))
            known[f["name"]] = self.uses[-1]
            self._code.append(compile(tree, where, "eval"))
            self._trees.append(tree)

    @property
    def names(self) -> tuple[str, ...]:
        return self.parameters + tuple(f["name"] for f in self.features)

    def fixed(self, values: Mapping[str, float]) -> tuple[list[dict], list[str]]:
        """The feature definitions of a model without the parameters in ``values``, which are
        fixed at those values: each such name (and each feature that becomes a constant) is
        replaced by its number in the expressions that use it.

        Returns (definitions, the names of the features that became constants and are left
        out: an input with one value carries nothing)."""
        unknown = set(values) - set(self.parameters)
        if unknown:
            raise ValueError(f"cannot fix {sorted(unknown)}: not parameters {self.parameters}")
        constants = {n: float(v) for n, v in values.items()}
        kept, dropped = [], []
        for f, tree, code, uses in zip(
            self.features, self._trees, self._code, self.uses, strict=True
        ):
            if uses <= set(values):
                scope = {"__builtins__": {}, **self._numpy_functions(), **constants}
                constants[f["name"]] = float(eval(code, scope))
                dropped.append(f["name"])
                continue
            body = _Substitute(constants).visit(ast.parse(ast.unparse(tree), mode="eval"))
            kept.append(
                {"name": f["name"], "expression": ast.unparse(ast.fix_missing_locations(body))}
            )
        return kept, dropped

    def _numpy_functions(self) -> dict:
        import numpy as np

        return {f: getattr(np, f) for f in FUNCTIONS}

    def __call__(self, theta):
        """theta (n, d) -> (n, d + k) float64 (theta itself, as an array, without features).

        A derived input that is not finite as float32 (e.g. an overflow far outside the box)
        becomes NaN, which XGBoost and the compiled models treat as missing."""
        import numpy as np

        theta = np.asarray(theta, dtype=np.float64)
        if not self._code:
            return theta
        if not hasattr(self, "_functions"):
            self._functions = {"__builtins__": {}, **self._numpy_functions()}
        d = len(self.parameters)
        out = np.empty((theta.shape[0], d + len(self._code)))
        out[:, :d] = theta
        scope = {**self._functions, **{n: theta[:, j] for j, n in enumerate(self.parameters)}}
        with np.errstate(all="ignore"):
            for i, (code, f) in enumerate(zip(self._code, self.features, strict=True)):
                out[:, d + i] = scope[f["name"]] = eval(code, scope)
        extra = out[:, d:]
        bad = ~(np.abs(extra) <= FLOAT32_MAX)  # the models read float32; NaN compares False too
        if bad.any():
            extra[bad] = np.nan
        return out

    def c_source(self) -> str:
        """C99 source of ``void globalfit_features(const double* theta, int64_t n, float* X)``:
        the model inputs of :meth:`__call__` as float32, for the compiled surrogate (on a
        32-point call of the default run's bundle numpy took 41 µs for them, the compiled source
        4 µs, the classifier's 101 trees 10 µs, the regressor's 478 trees 51 µs). Same
        arithmetic in double precision, libm instead of numpy's kernels: results may differ in
        the last bit of a double (numpy's own AVX-512 and SSE loops differ there too), which the
        float32 rounding hides but for a rare one-ulp step (tests/test_features.py)."""
        d = len(self.parameters)
        width = d + len(self._trees)
        variable = {p: f"p{j}" for j, p in enumerate(self.parameters)}
        lines = [
            "#include <math.h>",
            "#include <stdint.h>",
            "",
            "static inline double globalfit_square(double a) { return a * a; }",
            "",
            "/* globalfit: model inputs of the derived features "
            f"{[f['name'] for f in self.features]} */",
            f"void {C_SYMBOL}(const double* theta, int64_t n, float* X) {{",
            "  for (int64_t i = 0; i < n; ++i) {",
            f"    const double* t = theta + i * {d};",
            f"    float* x = X + i * {width};",
        ]
        for j in range(d):
            lines.append(f"    const double p{j} = t[{j}];  /* {self.parameters[j]} */")
            lines.append(f"    x[{j}] = (float)p{j};")
        for i, (tree, f) in enumerate(zip(self._trees, self.features, strict=True)):
            lines.append(
                f"    const double f{i} = {_c_expression(tree, variable)};  /* {f['name']} */"
            )
            # not finite as float32 (overflow, NaN): missing, as in __call__
            lines.append(f"    x[{d + i}] = fabs(f{i}) <= {FLOAT32_MAX!r} ? (float)f{i} : NAN;")
            variable[f["name"]] = f"f{i}"
        lines += ["  }", "}", ""]
        return "\n".join(lines)

    def check_finite(self, theta, what: str):
        """Model inputs at theta; ValueError naming the first feature that is not finite there."""
        import numpy as np

        X = self(theta)
        bad = ~np.isfinite(X[:, len(self.parameters) :])
        if bad.any():
            j = int(np.argmax(bad.any(axis=0)))
            i = int(np.argmax(bad[:, j]))
            f = self.features[j]
            raise ValueError(
                f"surrogate feature {f['name']!r} = {f['expression']} is not finite at {what} "
                f"row {i} ({dict(zip(self.parameters, np.round(theta[i], 6), strict=True))})"
            )
        return X
