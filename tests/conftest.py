import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
PLUGINS = Path(__file__).resolve().parent / "plugins"
ANALYTIC = ROOT / "tests" / "configs" / "analytic.yaml"

# test plug-ins must be importable by oracle worker processes and by Snakemake jobs
os.environ["PYTHONPATH"] = os.pathsep.join(
    filter(None, [str(PLUGINS), os.environ.get("PYTHONPATH")])
)
sys.path.insert(0, str(PLUGINS))


def run_snakemake(workdir, configfile, *args, timeout=900, check=True, env=None):
    """Run the project's Snakefile in ``workdir`` with a config file; returns CompletedProcess."""
    cmd = [
        str(BIN / "snakemake"),
        "-s",
        str(ROOT / "Snakefile"),
        "--directory",
        str(workdir),
        "--configfile",
        str(configfile),
        *args,
    ]
    proc = subprocess.run(
        cmd, capture_output=True, text=True, timeout=timeout, env={**os.environ, **(env or {})}
    )
    if check and proc.returncode != 0:
        raise AssertionError(
            f"snakemake failed ({proc.returncode}):\n{proc.stdout[-4000:]}\n{proc.stderr[-6000:]}"
        )
    return proc


def write_config(path, base, **overrides):
    """Write a copy of a YAML config with top-level sections updated (dicts merged one level)."""
    import yaml

    with open(base) as f:
        cfg = yaml.safe_load(f)
    for k, v in overrides.items():
        if isinstance(v, dict) and isinstance(cfg.get(k), dict):
            cfg[k] = {**cfg[k], **v}
        else:
            cfg[k] = v
    with open(path, "w") as f:
        yaml.safe_dump(cfg, f)
    return path


def tiny_analytic(**oracle) -> dict:
    """The analytic test config cut to the fewest jobs that still run every rule: 30 design
    points in 4 chunks, one GP round of 10, no posterior round (the SLURM and module tests, where
    every job costs seconds of submission). ``oracle`` replaces the oracle section if given."""
    import yaml

    cfg = yaml.safe_load(ANALYTIC.read_text())
    cfg["design"]["n_initial"] = 30
    cfg["active_learning"].update(rounds=1, posterior_rounds=0, batch_size=10)
    cfg["inference"].update(n_steps=1500, validation_samples=10)
    if oracle:
        cfg["oracle"] = oracle
    return cfg


@pytest.fixture
def analytic_config():
    return ROOT / "tests" / "configs" / "analytic.yaml"


def copy_project(dest: Path) -> Path:
    """A copy of the workflow and package sources, so a test can edit code without touching ours
    (jobs import the installed package; the copy's sources feed the code hashes of the DAG)."""
    dest.mkdir(parents=True)
    shutil.copy(ROOT / "Snakefile", dest / "Snakefile")
    for d in ("workflow", "src", "config", "envs"):
        shutil.copytree(
            ROOT / d, dest / d, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info")
        )
    return dest


def copy_run(run: Path, dest: Path) -> Path:
    """A project copy holding a finished run's results and Snakemake metadata, for a test that
    changes something and reruns (the session's run is shared and must stay as it is)."""
    project = copy_project(dest)
    for d in ("results", ".snakemake"):
        shutil.copytree(run / d, project / d, ignore=shutil.ignore_patterns("locks", "incomplete"))
    return project


def snakemake(project: Path, configfile: Path, *args, timeout=900, check=True, **kw):
    cmd = [
        str(BIN / "snakemake"),
        "-s",
        str(project / "Snakefile"),
        "--directory",
        str(project),
        "--configfile",
        str(configfile),
        *args,
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kw)
    if check and proc.returncode != 0:
        raise AssertionError(f"snakemake failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}")
    return proc


def planned_jobs(proc) -> list[tuple[str, str]]:
    """(rule, wildcards) of the jobs a dry run would execute."""
    jobs, rule = [], None
    for line in (proc.stdout + proc.stderr).splitlines():
        s = line.strip()
        if s.startswith(("rule ", "localrule ")) and s.endswith(":"):
            rule = s.split()[1].rstrip(":")
            jobs.append([rule, ""])
        elif s.startswith("wildcards:") and jobs:
            jobs[-1][1] = s.split(":", 1)[1].strip()
    return [tuple(j) for j in jobs]


@pytest.fixture(scope="session")
def finished_run(tmp_path_factory):
    """The analytic fit, run to the end once (--cores 2) in a copy of the project, shared by the
    tests that read or dry-run it (none may change it). Each process records the globalfit
    modules it imported in import_trace/ (tests/import_trace/sitecustomize.py)."""
    project = copy_project(tmp_path_factory.mktemp("run") / "project")
    trace = project / "import_trace"
    trace.mkdir()
    pythonpath = os.pathsep.join(
        [str(Path(__file__).parent / "import_trace"), os.environ["PYTHONPATH"]]
    )
    proc = snakemake(
        project,
        ANALYTIC,
        "--cores",
        "2",
        env={**os.environ, "PYTHONPATH": pythonpath, "GLOBALFIT_IMPORT_TRACE": str(trace)},
    )
    # what a user sees: Snakemake's output with every job's stderr (tests/test_logs.py)
    (project / "snakemake_output.txt").write_text(proc.stdout + proc.stderr)
    return project


@pytest.fixture(scope="session")
def two_wells_nested():
    """nautilus on two wells in d = 4 (shared by the tests of the islands' masses and of
    importance sampling)."""
    from globalfit.inference import Prior, sample_nested
    from globalfit.oracles.exact import two_wells

    problem = two_wells(4)
    prior = Prior.from_config(problem.parameters())
    return prior, sample_nested(problem.chi2, prior, n_live=500, n_eff=4000, seed=1)
