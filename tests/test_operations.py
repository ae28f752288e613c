"""Operations: rerun-on-change, resume after a crash, determinism across core counts, the HTML
report, and failure injection, each with real Snakemake runs of small configs."""

import json
import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
import yaml

from conftest import (
    ANALYTIC,
    BIN,
    ROOT,
    copy_project,
    copy_run,
    planned_jobs,
    snakemake,
    write_config,
)
from globalfit.chunking import chunk_count
from globalfit.evaluation import EvaluationTable
from globalfit.fingerprint import run_fingerprint

pytestmark = pytest.mark.workflow


def test_touching_nothing_reruns_nothing(finished_run):
    proc = snakemake(finished_run, ANALYTIC, "-n", "--cores", "1")
    assert planned_jobs(proc) == []


def test_surrogate_hyperparameter_reruns_surrogate_and_downstream_only(finished_run, tmp_path):
    cfg = write_config(tmp_path / "c.yaml", ANALYTIC, surrogate={"n_estimators": 250})
    jobs = planned_jobs(snakemake(finished_run, cfg, "-n", "--cores", "1"))
    rules = {r for r, _ in jobs}
    assert {"surrogate", "surrogate_plots", "sample", "frequentist", "inference_summary"} <= rules
    assert not rules & {"design", "propose"}
    # the posterior round (round 3: 2 GP rounds + 1) fits a surrogate with these settings, so it
    # and only it is proposed and evaluated again; the design and the GP rounds are untouched
    assert {"propose_posterior"} <= rules
    rounds = {
        m.group(1)
        for r, w in jobs
        if r in ("evaluate_chunk", "gather_round", "propose_posterior")
        for m in [re.search(r"round(?:s/|=)(\d+)", w)]
        if m
    }
    assert rounds == {"3"}


def test_validation_evaluates_only_points_not_in_the_cache(finished_run, tmp_path):
    project = copy_project(tmp_path / "project")
    shutil.copytree(finished_run / "results", project / "results")
    shutil.copytree(
        finished_run / ".snakemake",
        project / ".snakemake",
        ignore=shutil.ignore_patterns("locks", "incomplete"),
    )
    cache = project / "results" / "cache"
    before = {p.name for p in cache.rglob("*.json") if p.parent.name != cache.name}
    # more validation samples: the earlier ones are drawn again and must come from the cache
    cfg = write_config(
        tmp_path / "c.yaml",
        ANALYTIC,
        inference={**yaml.safe_load(open(ANALYTIC))["inference"], "validation_samples": 30},
    )
    snakemake(project, cfg, "--cores", "2", str(Path("results") / "inference" / "validation.json"))
    val = EvaluationTable.read(project / "results" / "inference" / "validation.h5")
    after = {p.name for p in cache.rglob("*.json") if p.parent.name != cache.name}
    new_keys = {k + ".json" for k in val.keys} - before
    assert after - before == new_keys  # exactly the points the cache did not know were evaluated
    assert int((~val.cached).sum()) == len({k for k in val.keys if k + ".json" in new_keys})


def test_editing_a_plot_function_reruns_only_plots(finished_run, tmp_path):
    project = copy_run(finished_run, tmp_path / "project")
    plots = project / "src" / "globalfit" / "plots" / "surrogate.py"
    plots.write_text(plots.read_text() + "\n# a cosmetic edit\n")
    rules = {r for r, _ in planned_jobs(snakemake(project, ANALYTIC, "-n", "--cores", "1"))}
    # the run summary collects every stage's timing, so it follows, and the report pages that
    # quote it; nothing that computes does
    assert "surrogate_plots" in rules
    assert rules <= {"surrogate_plots", "run_summary", "report_pages", "all"}


def test_oracle_options_and_code_rerun_the_evaluations(finished_run, tmp_path):
    cfg = yaml.safe_load(open(ANALYTIC))
    changed = write_config(
        tmp_path / "c.yaml", ANALYTIC, oracle={**cfg["oracle"], "options": {"width": 0.11}}
    )
    jobs = planned_jobs(snakemake(finished_run, changed, "-n", "--cores", "1"))
    assert [w for r, w in jobs if r == "evaluate_chunk" and "rounds/0" in w]

    project = copy_run(finished_run, tmp_path / "project")
    src = project / "src" / "globalfit" / "oracles" / "analytic.py"
    src.write_text(src.read_text() + "\n# the oracle's code changed\n")
    jobs = planned_jobs(snakemake(project, ANALYTIC, "-n", "--cores", "1"))
    assert [w for r, w in jobs if r == "evaluate_chunk" and "rounds/0" in w]


def _kill_when(project, config, cores, condition, timeout=600):
    """Run the workflow and SIGKILL it (snakemake and every job) as soon as ``condition()``
    holds; then release the lock, as a user does after a crash. True if it was killed."""
    cmd = [str(BIN / "snakemake"), "-s", str(project / "Snakefile"), "--directory", str(project)]
    cmd += ["--configfile", str(config), "--cores", str(cores), "--rerun-incomplete"]
    proc = subprocess.Popen(
        cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    deadline, killed = time.time() + timeout, False
    while proc.poll() is None and time.time() < deadline:
        if condition():
            os.killpg(proc.pid, signal.SIGKILL)
            killed = True
            break
        time.sleep(0.05)
    proc.wait()
    snakemake(project, config, "--unlock")
    return killed


def _completed_trials(results):
    import sqlite3

    n = 0
    for db in (results / "state" / "surrogate").rglob("*.sqlite"):
        with sqlite3.connect(db) as con:
            n += con.execute("select count(*) from trials where state = 'COMPLETE'").fetchone()[0]
    return n


def test_one_core_killed_while_tuning_and_sampling_equals_two_cores(finished_run, tmp_path):
    """The same config with --cores 1, SIGKILLed during the optuna trials and again during the
    emcee chain and resumed each time, ends with the same fingerprint of every output as the
    uninterrupted --cores 2 run."""
    assert len(list((finished_run / "results" / "rounds" / "0" / "evaluated").glob("*.h5"))) >= 4
    project = copy_project(tmp_path / "project")
    res, cfg = project / "results", yaml.safe_load(open(ANALYTIC))
    logs = res / "logs"

    def tuning():
        log = logs / "surrogate.log"
        return log.exists() and "optuna classifier: trial 1 of" in log.read_text()

    assert _kill_when(project, ANALYTIC, 1, tuning), "never reached the tuning"
    assert 0 < _completed_trials(res) < 2 * cfg["surrogate"]["n_trials"]  # killed mid-study

    def sampling():
        log = logs / "sample.log"
        return log.exists() and "( 70%)" in log.read_text()  # past the backend's first flush

    assert _kill_when(project, ANALYTIC, 1, sampling), "never reached the sampling"
    snakemake(project, ANALYTIC, "--cores", "1", "--rerun-incomplete")
    assert (
        json.loads((res / "inference" / "sampling.json").read_text())["diagnostics"][
            "resumed_from_step"
        ]
        > 0
    )
    one, two = run_fingerprint(res), run_fingerprint(finished_run / "results")
    assert {k: v for k, v in one.items() if one[k] != two.get(k)} == {}
    assert set(one) == set(two)


# Result files of the analytic run that the fingerprint must read (one of each kind at least).
FINGERPRINTED = (
    "dataset.h5",
    "dataset.csv",
    "rounds/0/evaluated/000.h5",
    "rounds/1/proposal.h5",
    "rounds/1/gp_state.json",
    "rounds/1/proposal_info.json",
    "active_learning/diagnostics.csv",
    "evaluation/summary.csv",
    "surrogate/metadata.json",
    "surrogate/metrics.json",
    "surrogate/split.csv",
    "surrogate/tuning/regressor_trials.csv",
    "surrogate predictions",
    "inference/nested.h5",
    "inference/nested.json",
    "inference/posterior.h5",
    "inference/posterior.json",
    "inference/chain.h5",
    "inference/sampling.json",
    "inference/best_fit_surrogate.json",
    "inference/profiles.h5",
    "inference/validation.h5",
    "inference/validation.json",
    "inference/summary.json",
    "confirm/evaluated/000.h5",
    "explain/importance.json",
    "run_summary.json",
)


def _leaves(obj, path=()):
    """(path, value, excluded) of every number in parsed JSON."""
    from globalfit.fingerprint import EXCLUDED_FIELDS

    if isinstance(obj, dict):
        for k, v in obj.items():
            for p, x, ex in _leaves(v, (*path, k)):
                yield p, x, ex or k in EXCLUDED_FIELDS
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from _leaves(v, (*path, i))
    elif isinstance(obj, (int, float)) and not isinstance(obj, bool):
        yield path, obj, False


def _walk(group):
    """(name, object) of everything below an HDF5 group."""
    found = []
    group.visititems(lambda n, o: found.append((n, o)))
    return found


def _nudged(x):
    if isinstance(x, int):
        return x + 1
    return float(np.nextafter(x, np.inf)) if np.isfinite(x) else 0.0


def test_fingerprint_sees_every_number_and_no_timing(finished_run, tmp_path):
    """Changing any one number of a result file (by one ulp) changes its hash; changing a
    timing, a provenance field or a cache flag does not."""
    import copy

    import h5py
    import pandas as pd

    from globalfit.fingerprint import EXCLUDED_FIELDS, csv_digest, h5_digest, json_digest

    results = finished_run / "results"
    fp = run_fingerprint(results)
    assert set(FINGERPRINTED) <= set(fp), set(FINGERPRINTED) - set(fp)
    assert not any(
        k.startswith(("cache/", "state/", "logs/", "benchmarks/")) or k.endswith(".png") for k in fp
    )
    n_checked = {"json": 0, "h5": 0, "csv": 0, "excluded": 0}

    for rel in (k for k in fp if k.endswith(".json")):
        data = json.loads((results / rel).read_text())
        base = json_digest(data)
        for path, x, excluded in _leaves(data):
            changed = copy.deepcopy(data)
            node = changed
            for key in path[:-1]:
                node = node[key]
            node[path[-1]] = _nudged(x)
            assert (json_digest(changed) == base) == excluded, (rel, path, excluded)
            n_checked["excluded" if excluded else "json"] += 1

    kinds = {re.sub(r"\d+", "N", k): k for k in fp if k.endswith(".h5")}  # one file of each kind
    for rel in kinds.values():
        work = tmp_path / rel.replace("/", "_")
        shutil.copy(results / rel, work)
        base = h5_digest(work)
        with h5py.File(work, "r") as f:
            names = [n for n, o in _walk(f) if isinstance(o, h5py.Dataset)]
        for name in names:
            with h5py.File(work, "r+") as f:
                ds = f[name]
                if ds.dtype.kind not in "fiu" or ds.size == 0:
                    continue
                old = ds[()]
                new = old.copy().reshape(-1)
                new[0] = _nudged(new[0].item()) if ds.dtype.kind == "f" else new[0] + 1
                ds[...] = new.reshape(old.shape)
            excluded = any(part in EXCLUDED_FIELDS for part in name.split("/"))
            assert (h5_digest(work) == base) == excluded, (rel, name)
            n_checked["excluded" if excluded else "h5"] += 1
            with h5py.File(work, "r+") as f:
                f[name][...] = old
        assert h5_digest(work) == base

    for rel in (k for k in fp if k.endswith(".csv")):
        df = pd.read_csv(
            results / rel, float_precision="round_trip", keep_default_na=False, dtype=str
        )
        base = csv_digest(results / rel)
        for col in df.columns:
            changed = df.copy()
            changed.loc[0, col] = changed.loc[0, col] + "1"
            changed.to_csv(tmp_path / "t.csv", index=False)
            excluded = col in EXCLUDED_FIELDS
            assert (csv_digest(tmp_path / "t.csv") == base) == excluded, (rel, col)
            n_checked["excluded" if excluded else "csv"] += 1
    assert min(n_checked.values()) > 10, n_checked


def test_report_has_every_stage_and_the_corner_plot(finished_run):
    report = finished_run / "results" / "report.html"
    snakemake(finished_run, ANALYTIC, "--report", str(report))
    html = report.read_text(errors="replace")
    assert "corner.png" in html
    for category in ("Evaluation", "Active learning", "Surrogate", "Inference"):
        assert category in html, category


def test_killed_run_resumes_with_every_point_evaluated_once(tmp_path):
    project = copy_project(tmp_path / "project")
    calls = tmp_path / "calls.log"
    cfg = yaml.safe_load(open(ROOT / "tests" / "configs" / "counting.yaml"))
    cfg["oracle"]["options"]["log"] = str(calls)
    path = tmp_path / "counting.yaml"
    path.write_text(yaml.safe_dump(cfg))
    target = "results/dataset.h5"
    cmd = [
        str(BIN / "snakemake"),
        "-s",
        str(project / "Snakefile"),
        "--directory",
        str(project),
        "--configfile",
        str(path),
        "--cores",
        "2",
        target,
    ]
    proc = subprocess.Popen(
        cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    evaluated = project / "results" / "rounds" / "0" / "evaluated"
    deadline = time.time() + 300
    while time.time() < deadline and len(list(evaluated.glob("*.h5"))) < 1:
        time.sleep(0.2)
    n_done = len(list(evaluated.glob("*.h5")))
    os.killpg(proc.pid, signal.SIGKILL)  # snakemake and every job it started
    proc.wait()
    n_chunks = chunk_count(
        cfg["design"]["n_initial"],
        cfg["evaluation"]["chunk_size"],
        cfg["evaluation"].get("parallel_chunks", 1),
    )
    assert 1 <= n_done < n_chunks, n_done

    # what a user does after a crash: release the lock the killed run left, then resume
    snakemake(project, path, "--unlock", target)
    snakemake(project, path, "--cores", "2", "--rerun-incomplete", target)
    resumed = EvaluationTable.read(project / "results" / "dataset.h5")
    lines = calls.read_text().split()
    assert len(lines) == len(set(lines)) == len(resumed)  # every point evaluated exactly once

    clean = copy_project(tmp_path / "clean")
    cfg["oracle"]["options"]["log"] = str(tmp_path / "calls_clean.log")
    path2 = tmp_path / "clean.yaml"
    path2.write_text(yaml.safe_dump(cfg))
    snakemake(clean, path2, "--cores", "2", target)
    # the log path is an oracle option, hence part of the oracle identity: compare the numbers
    uninterrupted = EvaluationTable.read(clean / "results" / "dataset.h5")
    np.testing.assert_array_equal(resumed.theta, uninterrupted.theta)
    np.testing.assert_array_equal(resumed.chi2, uninterrupted.chi2)
    np.testing.assert_array_equal(resumed.round, uninterrupted.round)


def test_failures_are_counted_and_the_workflow_completes(tmp_path):
    """The flaky oracle fails on ~40 % of the box. With a 20 % limit the design round stops
    with a message naming the key and loses nothing; with the default 50 % the workflow
    completes, the design's points all from the cache, and the failures are counted."""
    project = copy_project(tmp_path / "project")
    flaky = ROOT / "tests" / "configs" / "flaky.yaml"
    strict = write_config(tmp_path / "strict.yaml", flaky, evaluation={"max_failed_fraction": 0.2})
    proc = snakemake(project, strict, "--cores", "2", check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0 and "evaluation.max_failed_fraction = 0.2" in out
    assert re.search(r"round 0: \d+ of 80 new points failed", out)
    assert not (project / "results" / "rounds" / "0" / "dataset.h5").exists()

    snakemake(project, flaky, "--cores", "2")
    res = project / "results"
    ds = EvaluationTable.read(res / "dataset.h5")
    assert ds.cached[ds.round == 0].all()  # nothing the stopped run evaluated was lost
    counts = ds.status_counts()
    assert (
        counts["error"] > 0
        and counts["nonfinite"] > 0
        and counts["timeout"] > 0
        and counts["ok"] > 0
    )
    assert not np.isfinite(ds.chi2[ds.status == "error"]).any()
    import pandas as pd

    summary = pd.read_csv(res / "evaluation" / "summary.csv")
    assert summary[["error", "nonfinite", "timeout"]].sum().to_dict() == {
        k: counts[k] for k in ("error", "nonfinite", "timeout")
    }
    metrics = json.loads((res / "surrogate" / "metrics.json").read_text())
    assert metrics["counts"]["excluded_not_ok"] == len(ds) - counts["ok"]
    assert (res / "inference" / "summary.json").exists()


def test_state_resumes_only_when_nothing_it_depends_on_changed(finished_run, tmp_path):
    """Jobs that import a copy of the package: forced to rerun untouched, the optuna studies and
    the emcee chain resume and do no work; after an edit of a module each stateful rule
    depends on, the trials run again and the chain starts afresh."""
    project = copy_run(finished_run, tmp_path / "project")
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(project / "src"), os.environ["PYTHONPATH"]]),
    }
    where = subprocess.run(
        [str(BIN / "python"), "-c", "import globalfit; print(globalfit.__file__)"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert Path(where).is_relative_to(project / "src"), where  # not the editable install
    target = "results/inference/sampling.json"
    log, sampling = project / "results" / "logs" / "surrogate.log", project / target
    n_steps = yaml.safe_load(open(ANALYTIC))["inference"]["n_steps"]

    def trials_run():
        return len(re.findall(r"optuna \w+: trial \d+ of \d+", log.read_text()))

    snakemake(project, ANALYTIC, "--cores", "2", "--forcerun", "surrogate", target, env=env)
    assert trials_run() == 0  # both studies complete: nothing to tune
    assert (
        json.loads(sampling.read_text())["diagnostics"]["resumed_from_step"] == n_steps
    )  # no new step

    for module in ("surrogate/tuning.py", "inference/priors.py"):
        path = project / "src" / "globalfit" / module
        path.write_text(path.read_text() + "\n# an edit the stateful rules depend on\n")
    snakemake(project, ANALYTIC, "--cores", "2", target, env=env)
    assert trials_run() == 2 * yaml.safe_load(open(ANALYTIC))["surrogate"]["n_trials"]
    assert json.loads(sampling.read_text())["diagnostics"]["resumed_from_step"] == 0


@pytest.mark.parametrize("late", [False, True])
def test_pin_threads_limits_blas_before_and_after_numpy_is_imported(late):
    """A job script's thread count is the config's, not the environment's: set early, the
    variables reach libraries as they load; set after numpy, threadpoolctl limits them."""
    code = (
        ("import numpy\n" if late else "")
        + "from globalfit.threads import pin_threads\npin_threads(1)\n"
        + "import numpy, json\nfrom threadpoolctl import threadpool_info\n"
        + "print(json.dumps([i['num_threads'] for i in threadpool_info()]))\n"
    )
    env = {**os.environ, "OMP_NUM_THREADS": "2", "OPENBLAS_NUM_THREADS": "2"}
    out = subprocess.run(
        [str(BIN / "python"), "-c", code], env=env, capture_output=True, text=True, check=True
    )
    counts = json.loads(out.stdout.strip().splitlines()[-1])
    assert counts and all(c == 1 for c in counts), counts
