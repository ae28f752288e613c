"""Rule code hashes derived from imports: complete (every module a job imports is hashed, and
editing it changes the hash) and minimal (a module a rule does not reach leaves its hash alone)."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

from conftest import ROOT
from globalfit.provenance import PACKAGE_DIR, code_hash, reached_modules, state_key

SCRIPTS = sorted((ROOT / "workflow" / "scripts").glob("*.py"))


def test_reached_modules_follow_imports_inside_functions_and_relative_ones(tmp_path):
    pkg = tmp_path / "globalfit"
    (pkg / "sub").mkdir(parents=True)
    for name, text in {
        "__init__.py": "",
        "a.py": "def f():\n    from globalfit.b import g\n",
        "b.py": "from .sub import c\n",
        "sub/__init__.py": "",
        "sub/c.py": "from ..d import x\n",
        "d.py": "x = 1\n",
        "unused.py": "import numpy\n",
    }.items():
        (pkg / name).write_text(text)
    script = tmp_path / "script.py"
    script.write_text("import os\nfrom globalfit import a\n")
    got = {p.relative_to(pkg).as_posix() for p in reached_modules(script, package_dir=pkg)}
    assert got == {"__init__.py", "a.py", "b.py", "sub/__init__.py", "sub/c.py", "d.py"}


def test_each_rule_hash_changes_with_exactly_the_modules_its_script_reaches(tmp_path):
    """Completeness and minimality at once: append a comment to each package module in a copy
    of the package; a script's hash must change iff the script reaches that module."""
    pkg = tmp_path / "globalfit"
    shutil.copytree(PACKAGE_DIR, pkg, ignore=shutil.ignore_patterns("__pycache__"))
    base = {s.name: code_hash(s, package_dir=pkg) for s in SCRIPTS}
    reached = {
        s.name: {p.relative_to(pkg) for p in reached_modules(s, package_dir=pkg)} for s in SCRIPTS
    }
    for module in sorted(pkg.rglob("*.py")):
        text = module.read_text()
        module.write_text(text + "\n# an edit\n")
        rel = module.relative_to(pkg)
        for s in SCRIPTS:
            assert (code_hash(s, package_dir=pkg) != base[s.name]) == (rel in reached[s.name]), (
                s.name,
                rel,
            )
        module.write_text(text)
    # the plots of one stage stay out of the computing rules (hashing the whole package fails it)
    for script in (
        "evaluate_chunk.py",
        "surrogate.py",
        "sample.py",
        "propose.py",
        "frequentist.py",
    ):
        assert Path("plots/surrogate.py") not in reached[script], script
        assert not any(p.parts[0] == "plots" for p in reached[script]), script
    assert Path("plots/surrogate.py") in reached["surrogate_plots.py"]


def test_rule_hashes_cover_every_module_the_jobs_imported(finished_run):
    """The analytic run's jobs recorded the globalfit modules they imported (sitecustomize in
    tests/import_trace): each is among the modules its rule's script reaches."""
    traces = [json.loads(p.read_text()) for p in (finished_run / "import_trace").glob("*.json")]
    by_script: dict[str, set[str]] = {}
    for t in traces:
        main = t["main"] or t["argv"][0]
        m = re.search(r"\.snakemake/scripts/tmp[^.]*\.(\w+\.py)$", main)
        if m:
            by_script.setdefault(m.group(1), set()).update(t["modules"])
        elif main.endswith("evaluation/worker.py"):
            by_script.setdefault("evaluate_chunk.py", set()).update(t["modules"])  # its workers
    assert len(by_script) >= 15, sorted(by_script)

    def files(modules):
        out = set()
        for m in modules:
            base = PACKAGE_DIR.joinpath(*m.split(".")[1:])
            out.add(
                (base / "__init__.py")
                if (base / "__init__.py").exists()
                else base.with_suffix(".py")
            )
        return out

    for script, modules in sorted(by_script.items()):
        reached = set(reached_modules(ROOT / "workflow" / "scripts" / script))
        missing = sorted(str(f.relative_to(PACKAGE_DIR)) for f in files(modules) - reached)
        assert missing == [], (script, missing)


def test_state_key_changes_with_code_inputs_and_extras_only(tmp_path):
    """Resumable state is keyed by everything it depends on: the code hash, every byte and name
    of its input files and folders, and the extras (config, versions) — and by nothing else."""
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    (bundle / "model.ubj").write_bytes(b"trees")
    (bundle / "model.so").write_bytes(b"library")
    data = tmp_path / "data.h5"
    data.write_bytes(b"theta chi2 status")
    key = state_key("code-a", [bundle, data], extra={"emcee": "3.1"})
    assert key == state_key("code-a", [bundle, data], extra={"emcee": "3.1"})
    assert key != state_key("code-b", [bundle, data], extra={"emcee": "3.1"})
    assert key != state_key("code-a", [bundle, data], extra={"emcee": "3.2"})
    (bundle / "model.so").write_bytes(b"library, recompiled")
    changed_library = state_key("code-a", [bundle, data], extra={"emcee": "3.1"})
    assert changed_library != key
    (bundle / "model.so").rename(bundle / "other.so")  # same bytes, another name
    renamed = state_key("code-a", [bundle, data], extra={"emcee": "3.1"})
    assert renamed not in (key, changed_library)
    data.write_bytes(b"theta chi2 status, one more point")
    assert state_key("code-a", [bundle, data], extra={"emcee": "3.1"}) not in (key, renamed)
