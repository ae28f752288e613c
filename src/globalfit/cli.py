"""Command line: ``globalfit evaluate`` and ``globalfit predict`` (see ``globalfit --help``)."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

__all__ = ["build_parser", "cmd_evaluate", "cmd_fingerprint", "cmd_predict", "cmd_publish", "main"]


def cmd_evaluate(args) -> int:
    from globalfit import config as gfconfig
    from globalfit.evaluation.cache import EvaluationCache
    from globalfit.evaluation.worker import evaluate_points
    from globalfit.oracles import OracleSpec
    from globalfit.space import ParameterSpace, read_points_csv

    config = gfconfig.load(args.config)
    space = ParameterSpace.from_config(config["parameters"])
    df, theta = read_points_csv(args.points, space)
    spec = OracleSpec.from_config(config)
    cache_dir = args.cache_dir or gfconfig.cache_dir(config)
    cache = (
        None if args.no_cache else EvaluationCache(cache_dir, spec.identity_hash(), spec.identity())
    )
    table = evaluate_points(
        theta,
        spec,
        cache=cache,
        timeout=config["evaluation"]["timeout"],
        setup_timeout=config["evaluation"]["setup_timeout"],
        jobs=args.jobs,
        label=Path(args.points).name,
    )
    df = df.copy()
    df["chi2"] = table.chi2
    df["status"] = table.status
    df["message"] = table.message
    df["seconds"] = table.seconds
    df["cached"] = table.cached.astype(int)
    df.to_csv(args.output, index=False, float_format="%.17g")
    counts = table.status_counts()
    print(
        f"wrote {args.output}: {len(table)} points, "
        + ", ".join(f"{k} {v}" for k, v in counts.items()),
        file=sys.stderr,
    )
    return 0


def cmd_predict(args) -> int:
    from globalfit.surrogate.stage import predict_csv

    predict_csv(args.bundle, args.points, args.output, backend=args.backend)
    print(f"wrote {args.output}", file=sys.stderr)
    return 0


def cmd_fingerprint(args) -> int:
    import json

    from globalfit.fingerprint import run_fingerprint

    fp = run_fingerprint(args.results)
    if args.against is None:
        print(json.dumps(fp, indent=1))
        return 0
    other = run_fingerprint(args.against)
    differ = sorted(k for k in set(fp) | set(other) if k != "all" and fp.get(k) != other.get(k))
    for k in differ:
        print(f"{k}: {fp.get(k, 'missing')} vs {other.get(k, 'missing')}")
    print(
        f"{len(differ)} of {len(set(fp) | set(other)) - 1} result files differ (all: {fp['all']} "
        f"vs {other['all']})"
    )
    return 1 if differ else 0


def cmd_publish(args) -> int:
    from globalfit.reporting import publish

    publish(args.run_summary, args.out, args.readme)
    print(f"wrote {args.out} and the numbers block of {args.readme}", file=sys.stderr)
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="globalfit", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)

    e = sub.add_parser(
        "evaluate", help="evaluate points with the configured oracle, through the cache"
    )
    e.add_argument("points", help="CSV with one column per parameter (extra columns are kept)")
    e.add_argument(
        "-o",
        "--output",
        required=True,
        help="CSV written with chi2, status, message, seconds, cached added",
    )
    e.add_argument(
        "--config", default="config/config.yaml", help="workflow config (default: %(default)s)"
    )
    e.add_argument(
        "--jobs", type=int, default=1, help="parallel oracle processes (default: %(default)s)"
    )
    e.add_argument(
        "--cache-dir",
        default=None,
        help="evaluation cache (default: the config's evaluation.cache_dir)",
    )
    e.add_argument(
        "--no-cache",
        action="store_true",
        help="evaluate every point, neither reading nor writing the cache",
    )
    e.set_defaults(func=cmd_evaluate)

    q = sub.add_parser("predict", help="predict χ² with a trained surrogate bundle")
    q.add_argument("bundle", help="surrogate bundle directory, e.g. results/surrogate")
    q.add_argument("points", help="CSV with one column per parameter")
    q.add_argument(
        "-o",
        "--output",
        required=True,
        help="CSV written with p_in_region, in_region, chi2_surrogate added",
    )
    q.add_argument("--backend", choices=["compiled", "xgboost"], default="compiled")
    q.set_defaults(func=cmd_predict)

    f = sub.add_parser(
        "fingerprint",
        help="content hashes of every number a run computed (timings and provenance "
        "left out), to compare runs",
    )
    f.add_argument(
        "results", nargs="?", default="results", help="results directory (default: %(default)s)"
    )
    f.add_argument(
        "--against",
        metavar="RESULTS",
        help="another results directory: list the files that differ (exit status 1 if any)",
    )
    f.set_defaults(func=cmd_fingerprint)

    u = sub.add_parser(
        "publish", help="copy a run summary to docs/ and rewrite the README's numbers from it"
    )
    u.add_argument("run_summary", nargs="?", default="results/run_summary.json")
    u.add_argument("--out", default="docs/default_run.json")
    u.add_argument("--readme", default="README.md")
    u.set_defaults(func=cmd_publish)
    return p


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s", stream=sys.stderr
    )
    if getattr(args, "jobs", 1) < 1:
        print("globalfit: error: --jobs must be at least 1", file=sys.stderr)
        return 2
    try:
        return args.func(args)
    except (ValueError, FileNotFoundError) as e:
        print(f"globalfit: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
