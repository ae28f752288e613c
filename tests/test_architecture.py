"""The package's shape: modules of one idea (size), layers that never import upward, no import
cycle (imports inside functions included), a declared and pinned public API, and a
dependency-free layer that the Snakefile can import without numpy."""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT
from globalfit.provenance import _imported_names  # the import reader of the code hashes

PKG = ROOT / "src" / "globalfit"
MAX_LINES = 400

# Layers, lowest first: a module may import its own layer and those below, never one above.
LAYERS = [
    (
        "dependency-free",
        [
            "globalfit",
            "globalfit.lazy",
            "globalfit.config",
            "globalfit.provenance",
            "globalfit.chunking",
            "globalfit.features",
            "globalfit.oracles",
        ],
    ),
    (
        "core",
        [
            "globalfit.space",
            "globalfit.threads",
            "globalfit.design",
            "globalfit.logs",
            "globalfit.jsonio",
            "globalfit.levels",
            "globalfit.oracles.alp",
            "globalfit.oracles.alp_features",
            "globalfit.oracles.build",
            "globalfit.oracles.analytic",
            "globalfit.oracles.exact",
        ],
    ),
    ("evaluation", ["globalfit.evaluation"]),
    ("surrogate", ["globalfit.surrogate"]),
    ("inference", ["globalfit.inference"]),
    ("active learning", ["globalfit.active_learning"]),
    ("explanation", ["globalfit.explain"]),
    (
        "reporting",
        [
            "globalfit.reporting",
            "globalfit.fingerprint",
            "globalfit.run_summary",
            "globalfit.landing",
        ],
    ),
    ("plots and command line", ["globalfit.plots", "globalfit.cli"]),
]
# what the Snakefile's common.smk may use: the standard library and PyYAML only
DEPENDENCY_FREE = [m for m in LAYERS[0][1]]


def module_name(path: Path) -> str:
    rel = path.relative_to(PKG.parent).with_suffix("")
    return ".".join(rel.parts[:-1] if rel.name == "__init__" else rel.parts)


MODULES = {module_name(p): p for p in sorted(PKG.rglob("*.py"))}


def layer_of(name: str) -> int:
    """Index of the most specific layer entry that names the module or a package above it."""
    best, best_len = None, -1
    for i, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            if (name == prefix or name.startswith(prefix + ".")) and len(prefix) > best_len:
                best, best_len = i, len(prefix)
    assert best is not None, f"{name} is in no layer"
    return best


def imports_of(path: Path) -> set[str]:
    """Package modules a file imports anywhere (function bodies too), read as the rule code
    hashes read them (:func:`globalfit.provenance.reached_modules`, one step deep)."""
    name = module_name(path)
    return {m for m in _imported_names(path, PKG) if m in MODULES and m != name}


GRAPH = {name: imports_of(path) for name, path in MODULES.items()}


def test_every_module_is_one_idea_of_at_most_400_lines():
    long = {n: len(p.read_text().splitlines()) for n, p in MODULES.items()}
    assert {n: k for n, k in long.items() if k > MAX_LINES} == {}


def test_no_import_cycle():
    state, stack = {}, []

    def visit(m):
        state[m] = "open"
        stack.append(m)
        for dep in sorted(GRAPH[m]):
            # a package's __init__ re-exports lazily: importing a submodule runs it, not the reverse
            if state.get(dep) == "open":
                raise AssertionError(
                    "import cycle: " + " -> ".join(stack[stack.index(dep) :] + [dep])
                )
            if dep not in state:
                visit(dep)
        stack.pop()
        state[m] = "done"

    for m in sorted(GRAPH):
        if m not in state:
            visit(m)


def test_nothing_imports_upward():
    upward = [
        f"{m} ({LAYERS[layer_of(m)][0]}) imports {d} ({LAYERS[layer_of(d)][0]})"
        for m, deps in GRAPH.items()
        for d in deps
        if layer_of(d) > layer_of(m)
    ]
    assert upward == []


def _assigns_all(node) -> bool:
    """``__all__ = [...]`` or ``__all__, ... = lazy_exports(...)``."""
    if not isinstance(node, ast.Assign):
        return False
    targets = [e for t in node.targets for e in (t.elts if isinstance(t, ast.Tuple) else [t])]
    return any(getattr(t, "id", "") == "__all__" for t in targets)


def test_every_public_module_declares_all_and_it_holds():
    missing, wrong = [], []
    for name, path in MODULES.items():
        if name.rpartition(".")[2].startswith("_"):
            continue
        tree = ast.parse(path.read_text())
        if not any(_assigns_all(n) for n in tree.body):
            missing.append(name)
            continue
        if name in DEPENDENCY_FREE or "oracles.alp" in name:
            continue  # imported below, in the dependency-free test, or needs alpaca
        module = importlib.import_module(name)
        wrong += [f"{name}.{x}" for x in module.__all__ if not hasattr(module, x)]
    assert missing == [] and wrong == []


def public_api() -> list[str]:
    lines = []
    for name in [
        "globalfit",
        "globalfit.evaluation",
        "globalfit.surrogate",
        "globalfit.inference",
        "globalfit.active_learning",
        "globalfit.explain",
    ]:
        lines += [f"{name}: {x}" for x in importlib.import_module(name).__all__]
    return lines


def test_public_api_is_the_checked_in_list():
    """Adding, renaming or removing a public name is a decision: update tests/public_api.txt."""
    pinned = (ROOT / "tests" / "public_api.txt").read_text().split("\n")
    assert public_api() == [line for line in pinned if line and not line.startswith("#")]


@pytest.mark.parametrize(
    "package", ["evaluation", "surrogate", "inference", "active_learning", "explain"]
)
def test_exported_names_resolve_and_do_not_shadow_submodules(package):
    module = importlib.import_module(f"globalfit.{package}")
    submodules = {p.stem for p in (PKG / package).glob("*.py")}
    assert set(module.__all__).isdisjoint(submodules)  # a submodule import would replace the name
    for name in module.__all__:
        assert getattr(module, name) is not None
    with pytest.raises(AttributeError, match="no attribute 'not_a_name'"):
        module.not_a_name  # noqa: B018


BLOCKED = ["numpy", "scipy", "pandas", "h5py", "xgboost", "tensorflow", "matplotlib"]


def test_dependency_free_layer_imports_without_numpy():
    """Exactly the imports of workflow/rules/common.smk (and the package root with its lazy names
    untouched) run with numpy, scipy, pandas, h5py and the ML libraries blocked."""
    common = (ROOT / "workflow" / "rules" / "common.smk").read_text()
    imports = [
        ln for ln in common.splitlines() if ln.startswith(("from globalfit", "import globalfit"))
    ]
    assert len(imports) >= 3
    code = "\n".join(
        [
            "import sys",
            f"for m in {BLOCKED!r}: sys.modules[m] = None  # import raises ImportError",
            f"sys.path.insert(0, {str(ROOT / 'src')!r})",
            "import globalfit",
            *imports,
            *[f"import {m}" for m in DEPENDENCY_FREE],
            "print(globalfit.__version__, len(globalfit.__all__))",
        ]
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    # and the block is real: a numpy import fails in that setting
    proc = subprocess.run(
        [sys.executable, "-c", code + "\nimport globalfit.space"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode != 0 and "numpy" in proc.stderr


def _calls(path: Path, dotted: set[str]) -> list[str]:
    """Calls such as ``json.dump(...)`` or ``os.replace(...)`` in a file, as "line: name"."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            base = node.func.value
            if isinstance(base, ast.Name) and f"{base.id}.{node.func.attr}" in dotted:
                found.append(f"{node.lineno}: {base.id}.{node.func.attr}")
    return found


def test_one_atomic_writer_and_one_strict_json_writer():
    """Files are written through globalfit.jsonio only: no other module or workflow script
    calls json.dump or os.replace (a JSON text may still be built with json.dumps)."""
    scripts = sorted((ROOT / "workflow" / "scripts").glob("*.py"))
    others = {
        str(p.relative_to(ROOT)): _calls(p, {"json.dump", "os.replace", "os.rename"})
        for p in [*MODULES.values(), *scripts]
        if p.name != "jsonio.py"
    }
    assert {k: v for k, v in others.items() if v} == {}


def test_strict_json_writer_writes_no_nan_and_is_atomic(tmp_path):
    import json

    import numpy as np

    from globalfit.jsonio import write_json

    out = write_json(tmp_path / "a.json", {"x": np.float64("nan"), "y": [np.int64(2), -np.inf]})
    text = out.read_text()
    assert "NaN" not in text and "Infinity" not in text
    assert json.loads(text) == {"x": None, "y": [2, None]}
    with pytest.raises(TypeError, match="cannot write a object"):
        write_json(out, {"x": object()})
    assert json.loads(out.read_text()) == {"x": None, "y": [2, None]}  # the old file survives
    assert [p.name for p in tmp_path.iterdir()] == ["a.json"]  # no partial file left behind


def public_functions() -> dict:
    """Functions named in the ``__all__`` of globalfit and its subpackages that take parameters,
    once each (a name that a parent package re-exports is the same function)."""
    import globalfit

    packages = ["globalfit"] + [
        m.name for m in pkgutil.walk_packages(globalfit.__path__, "globalfit.") if m.ispkg
    ]
    found = {}
    for package in packages:
        module = importlib.import_module(package)
        for name in module.__all__:
            obj = getattr(module, name)
            if inspect.isfunction(obj) and inspect.signature(obj).parameters:
                found.setdefault(f"{obj.__module__}.{obj.__qualname__}", obj)
    return found


def undocumented_parameters(fn) -> list[str] | None:
    """Parameters of fn that start no line of its numpydoc ``Parameters`` section (``a, b : int``
    names both; ``*args``/``**kwargs`` count with or without the stars; self/cls need no entry),
    or None if the docstring has no such section."""
    _, sep, section = (inspect.getdoc(fn) or "").partition("Parameters\n----------\n")
    if not sep:
        return None
    lines = section.splitlines()
    documented = set()
    for i, line in enumerate(lines):
        if i + 1 < len(lines) and lines[i + 1].startswith("---"):
            break  # the header of the next section (Returns, Raises, ...)
        if line and not line[0].isspace():
            documented |= {n.strip().lstrip("*") for n in line.partition(" : ")[0].split(",")}
    params = [p for p in inspect.signature(fn).parameters if p not in ("self", "cls")]
    return [p for p in params if p not in documented]


def test_public_functions_have_numpydoc_sections():
    """Every public function's docstring has a numpydoc Parameters section that names each of its
    parameters."""
    functions = public_functions()
    assert len(functions) > 50
    found = {where: undocumented_parameters(fn) for where, fn in functions.items()}
    assert {where: "no Parameters section" for where, v in found.items() if v is None} == {}
    assert {where: v for where, v in found.items() if v} == {}


def test_the_numpydoc_check_sees_an_omitted_parameter():
    def f(theta, chi2, *args, ok=None, **kwargs):
        """Summary.

        Parameters
        ----------
        theta, chi2 : (n, d) and (n,) arrays
            The points; ``ok`` is not listed.
        *args
            Ignored.
        **kwargs
            Passed on.

        Returns
        -------
        ok : bool
        """

    assert undocumented_parameters(f) == ["ok"]
    f.__doc__ = "Summary without sections."
    assert undocumented_parameters(f) is None
