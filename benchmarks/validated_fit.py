"""Benchmark: the whole workflow, with its defaults, on likelihoods it was not tuned for, against
exact answers — and side by side in the same run, a Latin hypercube of the same size and a nested
sampler on the true likelihood.

Problems (globalfit.oracles.exact, uniform priors on [−3, 3]^d): two_wells (mirror images, masses
0.57/0.43), unequal_wells (unrelated wells, 0.35/0.65, the heavier one shallower), curved_valley
(a banana cut by a 10³-high cliff). Per problem, d and seed, one row per method:

- ``workflow``: ``snakemake`` with the default config (every seed set to the row's seed), to the
  validated posterior (inference/validation.json);
- ``hypercube``: the same config with design.n_initial = the workflow's training calls and no
  rounds, so the same calls spent on a Latin hypercube alone;
- ``dynesty``: static nested sampling of the true χ² (multi-ellipsoid bounds, slice sampling,
  dlogz 0.01; uniform sampling inside the ellipsoids spent 1.4·10⁶ calls on two wells in d = 4),
  live points doubled from 100 until it meets the issue's accuracy target (worst KS ≤ 0.05 at d ≤ 4,
  ≤ 0.1 above; mode masses within 0.05) or 1600; its likelihood calls are the comparison.

Columns: training calls (design + rounds + posterior rounds), all true evaluations (with the
validation's), GPry's default cap 70·d^1.5 for reference, the worst marginal KS distance to
5·10⁴ exact draws, the worst mode-mass error, ln Z minus the exact value (the surrogate's nested
ln Z corrected by the validation's truth), the validation ESS fraction and whether the workflow
declared the posterior validated, and wall seconds. After each cell, its worst seed.

    python benchmarks/validated_fit.py [--problems two_wells ...] [--dims 2 4 6 8] [--seeds 0 1 2]
        [--workdir /tmp/validated_fit] [--cores 2] [--set section.key=value ...]

``--set`` overrides a config key for every workflow and hypercube run (e.g. to trade accuracy for
time: --set inference.nested.n_live=500); the printed header lists the overrides.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402
import yaml  # noqa: E402

from globalfit.config import load_schema  # noqa: E402
from globalfit.evaluation import EvaluationTable  # noqa: E402
from globalfit.inference import Posterior  # noqa: E402
from globalfit.oracles.exact import ExactProblem, exact_problem  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
HALF_WIDTH = 3.0
N_EXACT = 50_000


def target_ks(d: int) -> float:
    """The issue's accuracy target for the worst marginal."""
    return 0.05 if d <= 4 else 0.1


def set_key(cfg: dict, dotted: str, value) -> None:
    *path, last = dotted.split(".")
    node = cfg
    for key in path:
        node = node.setdefault(key, {})
    node[last] = value


def workflow_config(name: str, problem: ExactProblem, seed: int, overrides: list[str]) -> dict:
    """The default config (no tuning) on an exact problem; every section's seed is ``seed``."""
    cfg = {
        "name": name,
        "parameters": problem.parameters(),
        "oracle": {"name": "exact", "options": {"problem": name}},
    }
    for section, spec in load_schema()["properties"].items():
        if "seed" in spec.get("properties", {}):
            cfg.setdefault(section, {})["seed"] = seed
    for item in overrides:
        key, _, value = item.partition("=")
        set_key(cfg, key, yaml.safe_load(value))
    return cfg


def run_workflow(workdir: Path, cfg: dict, cores: int) -> dict:
    """One Snakemake run to the validated posterior; its numbers, read from its outputs."""
    if workdir.exists():
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True)
    configfile = workdir / "config.yaml"
    configfile.write_text(yaml.safe_dump(cfg))
    targets = ["results/inference/validation.json", "results/inference/posterior.h5"]
    al = cfg.get("active_learning", {})
    if al.get("rounds", 1) or al.get("posterior_rounds", 1):
        targets.append("results/active_learning/stopping.json")
    t0 = time.perf_counter()
    cmd = [str(Path(sys.executable).parent / "snakemake"), "-s", str(ROOT / "Snakefile")]
    cmd += ["--directory", str(workdir), "--cores", str(cores), *targets]
    proc = subprocess.run([*cmd, "--configfile", str(configfile)], capture_output=True, text=True)
    wall = time.perf_counter() - t0
    (workdir / "snakemake_output.txt").write_text(proc.stdout + proc.stderr)
    if proc.returncode != 0:
        raise RuntimeError(f"snakemake failed in {workdir}: see snakemake_output.txt")
    results = workdir / "results"
    validation = json.loads((results / "inference" / "validation.json").read_text())
    n_validation = len(EvaluationTable.read(results / "inference" / "validation.h5"))
    stopping = results / "active_learning" / "stopping.json"
    return {
        "posterior": Posterior.read(results / "inference" / "posterior.h5"),
        "training": len(EvaluationTable.read(results / "dataset.h5")),
        "validation_calls": n_validation,
        "validation": validation,
        "stopping": json.loads(stopping.read_text()) if stopping.exists() else {},
        "wall": wall,
    }


def dynesty_to_target(problem: ExactProblem, seed: int) -> dict:
    """Static dynesty on the true χ², live points doubled until the accuracy target is met."""
    import dynesty

    d, h = problem.dim, problem.half_width
    for n_live in (100, 200, 400, 800, 1600):
        calls = [0]

        def log_l(x, calls=calls):
            calls[0] += 1
            return float(-0.5 * problem.chi2(x[None, :])[0])

        t0 = time.perf_counter()
        sampler = dynesty.NestedSampler(
            log_l,
            lambda u: (2 * u - 1) * h,
            d,
            nlive=n_live,
            bound="multi",
            sample="rslice",
            rstate=np.random.default_rng(seed),
        )
        sampler.run_nested(dlogz=0.01, print_progress=False)
        r = sampler.results
        w = np.exp(r.logwt - r.logz[-1])
        out = problem.compare(r.samples, w, N_EXACT)
        out.update(
            calls=calls[0],
            n_live=n_live,
            log_z_error=float(r.logz[-1] - problem.log_z),
            wall=time.perf_counter() - t0,
        )
        if out["ks"] <= target_ks(d) and out["mass_error"] <= 0.05:
            break
    return out


HEADER = (
    f"{'problem':14s} {'d':>2s} {'seed':>4s} {'method':10s} {'train':>7s} {'all':>7s} "
    f"{'gpry':>5s} {'KS':>6s} {'mass':>6s} {'lnZ-ex':>7s} {'ESS':>5s} {'valid':>5s} {'wall s':>7s}"
    "  note"
)


def row(problem, d, seed, method, r) -> str:
    def num(key, fmt):
        v = r.get(key)
        return (
            format(v, fmt)
            if v is not None and not (isinstance(v, float) and math.isnan(v))
            else "—"
        )

    gpry = int(70 * d**1.5)
    return (
        f"{problem:14s} {d:2d} {seed!s:>4s} {method:10s} {num('train', '7d')} {num('all', '7d')} "
        f"{gpry:5d} {num('ks', '6.3f')} {num('mass_error', '6.3f')} {num('log_z_error', '+7.2f')} "
        f"{num('ess', '5.2f')} {r.get('valid', '—')!s:>5s} {num('wall', '7.0f')}  "
        + r.get("note", "")
    )


def summarise(run: dict, problem: ExactProblem) -> dict:
    v = run["validation"]
    out = problem.compare(run["posterior"].samples, run["posterior"].weights, N_EXACT)
    log_z = v.get("evidence", {}).get("log_z_corrected")
    stop = run["stopping"]
    out.update(
        train=run["training"],
        all=run["training"] + run["validation_calls"],
        ess=v.get("ess_fraction"),
        valid="yes" if v.get("passed") else "no",
        log_z_error=None if log_z is None else log_z - problem.log_z,
        wall=run["wall"],
        note=stop.get("stop_reason", ""),
    )
    return out


def worst(rows: list[dict]) -> dict:
    def pick(key, fn):
        vals = [r[key] for r in rows if r.get(key) is not None]
        return fn(vals) if vals else None

    return {
        "train": pick("train", max),
        "all": pick("all", max),
        "ks": pick("ks", max),
        "mass_error": pick("mass_error", max),
        "log_z_error": pick("log_z_error", lambda v: max(v, key=abs)),
        "ess": pick("ess", min),
        "valid": "no" if any(r.get("valid") == "no" for r in rows) else rows[0].get("valid", "—"),
        "wall": pick("wall", max),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--problems", nargs="+", default=["two_wells", "unequal_wells", "curved_valley"]
    )
    ap.add_argument("--dims", type=int, nargs="+", default=[2, 4, 6, 8])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/validated_fit"))
    ap.add_argument("--cores", type=int, default=2)
    ap.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    ap.add_argument("--no-hypercube", action="store_true", help="skip the hypercube rows")
    ap.add_argument("--no-dynesty", action="store_true", help="skip the dynesty rows")
    args = ap.parse_args()
    print(f"defaults of the config schema; overrides: {args.overrides or 'none'}")
    print(
        "targets: KS ≤ 0.05 (d ≤ 4) / 0.1 (d 6–8), masses ± 0.05, ESS ≥ 0.5, train ≤ 0.5 × gpry\n"
    )
    print(HEADER, flush=True)
    for name in args.problems:
        for d in args.dims:
            problem = exact_problem(name, d, HALF_WIDTH)
            cell: dict[str, list[dict]] = {"workflow": [], "hypercube": [], "dynesty": []}
            for seed in args.seeds:
                base = workflow_config(name, problem, seed, args.overrides)
                where = args.workdir / f"{name}_d{d}_s{seed}"
                run = summarise(run_workflow(where / "workflow", base, args.cores), problem)
                cell["workflow"].append(run)
                print(row(name, d, seed, "workflow", run), flush=True)
                if not args.no_hypercube:
                    lhs = yaml.safe_load(yaml.safe_dump(base))
                    set_key(lhs, "design.n_initial", run["train"])
                    set_key(lhs, "active_learning.rounds", 0)
                    set_key(lhs, "active_learning.posterior_rounds", 0)
                    r = summarise(run_workflow(where / "hypercube", lhs, args.cores), problem)
                    r["note"] = ""
                    cell["hypercube"].append(r)
                    print(row(name, d, seed, "hypercube", r), flush=True)
                if not args.no_dynesty:
                    r = dynesty_to_target(problem, seed)
                    r.update(train=r["calls"], all=r["calls"], note=f"n_live {r['n_live']}")
                    cell["dynesty"].append(r)
                    print(row(name, d, seed, "dynesty", r), flush=True)
            for method, rows in cell.items():
                if rows:
                    print(row(name, d, "max", method, worst(rows)), flush=True)


if __name__ == "__main__":
    main()
