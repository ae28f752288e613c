"""``results/run_summary.json``: the numbers of a run that the README and the report quote, from
the dataset and the stages' own summaries, with provenance.

Shares are of *successful* points with Δχ² < 2.3 from the dataset's best χ², per origin: the
Latin hypercube (round 0), the GP rounds (1..n_gp_rounds) and the posterior rounds after them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from globalfit.evaluation.table import EvaluationTable
from globalfit.levels import HIT

__all__ = ["condensed_stages", "dataset_summary", "run_summary"]


def _share(hit: np.ndarray, rows: np.ndarray) -> float | None:
    return float(hit[rows].mean()) if rows.any() else None


def dataset_summary(
    data: EvaluationTable, n_gp_rounds: int, stopping: Mapping | None = None
) -> dict:
    """``evaluation`` and ``active_learning`` sections of the run summary: the rounds that
    evaluated points, and why each phase stopped (``stopping``: the active-learning
    diagnostics' ``stopping.json``; None without rounds)."""
    ok = data.ok
    best = float(np.min(data.chi2[ok]))
    hit = ok & (data.chi2 - best < HIT)
    design = data.round == 0
    gp = (data.round > 0) & (data.round <= n_gp_rounds)
    posterior = data.round > n_gp_rounds
    return {
        "evaluation": {
            "n_points": len(data),
            "n_failed": int((~ok).sum()),
            "status": data.status_counts(),
            "best_chi2": best,
            "best_chi2_design": float(np.min(data.chi2[ok & design]))
            if (ok & design).any()
            else None,
            "oracle_cpu_seconds": float(np.nansum(data.cpu_seconds)),
        },
        "active_learning": {
            "rounds": len(np.unique(data.round[~design])),
            "gp_rounds": len(np.unique(data.round[gp])),
            "posterior_rounds": len(np.unique(data.round[posterior])),
            "stop_reason": stopping["stop_reason"]
            if stopping
            else "no active-learning rounds configured (Latin hypercube only)",
            "stopped": dict(stopping["stopped"]) if stopping else {},
            "share_below_2_3": _share(hit, gp),
            "posterior_rounds_share_below_2_3": _share(hit, posterior),
            "lhs_share_below_2_3": float(hit[design].mean()),
        },
    }


def condensed_stages(
    surrogate: Mapping | None, inference: Mapping | None, explain: Mapping | None
) -> dict:
    """The parts of the stages' summaries that the run summary keeps (surrogate metrics whole)."""
    out = {}
    if surrogate is not None:
        out["surrogate"] = dict(surrogate)
    if inference is not None:
        keep = ("best_fit", "sm", "significance", "convergence", "validation_passed")
        out["inference"] = {k: inference[k] for k in keep if k in inference}
        out["inference"]["validation"] = {
            k: inference["validation"].get(k)
            for k in ("ess_fraction", "pareto_k", "max_weight_share", "passed", "sentence")
        }
        if "evidence" in inference:
            out["inference"]["evidence"] = {
                k: inference["evidence"].get(k)
                for k in ("log_z", "log_z_err", "log_z_corrected", "log_z_corrected_err")
            }
        for k in (
            "bayes_factor",
            "islands",
            "derived",
            "chi2_contributions",
            "profiles",
            "profile_reference",
        ):
            if k in inference:
                out["inference"][k] = inference[k]
    if explain is not None:
        ablation = explain.get("ablation") or {}
        interactions = explain.get("interactions")
        out["explain"] = {
            "ranking": explain["ranking"],
            "least_important": ablation.get("dropped"),
            "verdict": ablation.get("verdict"),
            "top_pairs": interactions["mean_abs"][:3] if interactions else None,
        }
    return out


def run_summary(
    data: EvaluationTable,
    *,
    n_gp_rounds: int,
    provenance: Mapping,
    timings: Mapping,
    stopping: Mapping | None = None,
    batches: Mapping[str, Sequence[EvaluationTable]] | None = None,
    surrogate: Mapping | None = None,
    inference: Mapping | None = None,
    explain: Mapping | None = None,
) -> dict:
    """The whole run summary.

    Parameters
    ----------
    data : EvaluationTable
        The dataset (design and active-learning rounds).
    n_gp_rounds : int
        Configured GP rounds (the rounds after them are posterior rounds).
    stopping : mapping, optional
        The adaptive stopping's final record with its ``stop_reason`` (None: no rounds).
    provenance : mapping
        ``config_name``, ``config_hash``, ``commit``, ``machine`` (the package version is read
        from the dataset's attributes).
    timings : mapping
        Stage timings (:func:`globalfit.reporting.stage_timings`).
    batches : mapping of str to sequences of EvaluationTable, optional
        True evaluations outside the dataset by batch (validation, confirm, profile_check), one
        table per evaluated chunk.
        ``oracle_calls`` counts them with the dataset (``training``), their ``total``, and how
        many of those this run took from the evaluation cache (``from_cache``).
    surrogate, inference, explain : mapping, optional
        The stages' summaries.

    Returns
    -------
    dict
    """
    tables = {"training": [data], **{k: list(v) for k, v in (batches or {}).items()}}
    calls = {name: sum(len(t) for t in chunks) for name, chunks in tables.items()}
    calls["total"] = sum(calls.values())
    calls["from_cache"] = sum(int(np.count_nonzero(t.cached)) for c in tables.values() for t in c)
    return {
        **{k: provenance[k] for k in ("config_name", "config_hash", "commit")},
        "package_version": data.attrs.get("package_version"),
        "machine": provenance["machine"],
        "timings": dict(timings),
        **dataset_summary(data, n_gp_rounds, stopping),
        "oracle_calls": calls,
        **condensed_stages(surrogate, inference, explain),
    }
