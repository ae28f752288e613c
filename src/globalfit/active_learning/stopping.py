"""Adaptive stopping of the active-learning rounds: which rounds still propose points.

``active_learning.rounds`` and ``posterior_rounds`` are maxima; the DAG always holds them all (so
``snakemake -n`` shows the plan and a killed run resumes round by round), and a round after the
loop stopped proposes an empty batch: no GP fit, no TensorFlow import, no oracle start-up.

Each round's proposer first checks the round before it, on points that round's model had not
seen when it predicted them:

- **GP rounds** (:func:`~globalfit.active_learning.round_checks.gp_round_check`): the GP's error on
  its own batch before it was evaluated (mean |predicted − true| Δχ² over batch points that either
  call within Δχ² < 10, both capped at that edge so that the wall's height does not swamp it) at
  most ``stop_tolerance``, the best χ² improved by at most ``stop_tolerance``, and no new basin: no
  batch point within ``trust_region_open`` of the best lies farther than
  ``trust_region_separation`` (unit cube) from every earlier point that good. The rounds that come
  after the GP phase stops are the posterior rounds.
- **Posterior rounds** (:func:`~globalfit.active_learning.round_checks.posterior_round_check`): the
  batch was drawn from the surrogate's posterior, so its true χ² importance-reweight that posterior
  exactly as the final validation does; the round passes when ESS fraction and PSIS k̂ pass
  ``inference.ess_threshold`` and ``pareto_k_threshold`` (k̂ only with at least ``PSIS_MIN_POINTS``
  = 24 points: a smaller batch leaves PSIS no tail to fit). The final validation, on fresh points,
  always needs both.

A phase stops when its check held in ``stop_after`` consecutive rounds (0: never stops early), or
when the training oracle calls (design + rounds) reach ``max_calls``; the last batch before that
is cut to what the budget leaves.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Mapping, Sequence

from globalfit.active_learning.round_checks import gp_round_check, posterior_round_check
from globalfit.space import ParameterSpace

__all__ = [
    "STOP_COLUMNS",
    "STOP_SETTINGS",
    "empty_round_info",
    "plan_next_round",
    "plan_round",
    "stop_columns",
    "stop_reason",
]


# the active_learning keys of this module, not of the proposers
STOP_SETTINGS = ("stop_after", "stop_tolerance", "max_calls")
# diagnostics.csv's columns from the check of each round's batch
STOP_COLUMNS = (
    "check_converged",
    "check_membership",
    "check_batch_mae",
    "check_best_gain",
    "check_new_basins",
    "check_ess_fraction",
    "check_pareto_k",
)


def _streak(checks: Sequence[Mapping], kind: str) -> int:
    n = 0
    for c in reversed([c for c in checks if c["kind"] == kind]):
        if not c["converged"]:
            break
        n += 1
    return n


def plan_round(
    phase: str,
    previous: Mapping | None,
    check: Mapping | None,
    *,
    n_evaluated: int,
    batch_size: int,
    stop_after: int,
    max_calls: int | None,
) -> dict:
    """How many points a round proposes, given the rounds before it.

    Parameters
    ----------
    phase : {"gp", "posterior"}
        The round's kind.
    previous : Mapping or None
        The previous round's ``stopping`` record (None for the first round).
    check : Mapping or None
        The check of the previous round's batch (None when it proposed nothing, or was the design).
    n_evaluated : int
        Training points evaluated so far (design + rounds).
    batch_size : int
        The configured batch size.
    stop_after : int
        Consecutive converged rounds that stop a phase (0: never early).
    max_calls : int or None
        Budget of training oracle calls.

    Returns
    -------
    dict
        The round's ``stopping`` record: ``checks`` (all so far), ``stopped`` ({phase: reason} of
        every stopped phase) and ``n_points``.
    """
    if phase not in ("gp", "posterior"):
        raise ValueError(f"plan_round: phase must be 'gp' or 'posterior', got {phase!r}")
    checks = list(previous["checks"]) if previous else []
    stopped = dict(previous["stopped"]) if previous else {}
    if check is not None:
        checks.append(dict(check))
    left = None if max_calls is None else max(0, int(max_calls) - int(n_evaluated))
    if "budget" in stopped:
        stopped.setdefault(phase, stopped["budget"])
    elif left == 0:
        stopped["budget"] = stopped[phase] = f"the call budget max_calls = {max_calls} was spent"
    elif phase not in stopped and stop_after and _streak(checks, phase) >= stop_after:
        what = (
            "the GP predicted its batch within stop_tolerance, found no new basin and no better "
            "minimum"
            if phase == "gp"
            else "the surrogate posterior passed its importance-sampling check"
        )
        stopped[phase] = f"{what} in {stop_after} consecutive rounds"
    n_points = 0 if phase in stopped else batch_size if left is None else min(batch_size, left)
    return {"checks": checks, "stopped": stopped, "n_points": int(n_points)}


def stop_reason(record: Mapping | None, n_gp_rounds: int, n_posterior_rounds: int) -> str:
    """One sentence: why each phase of the loop ended.

    Parameters
    ----------
    record : Mapping or None
        The ``stopping`` record after the last round (None: no rounds).
    n_gp_rounds, n_posterior_rounds : int
        The configured maxima.

    Returns
    -------
    str
        The sentence for the report and ``run_summary.json``.
    """
    if record is None or n_gp_rounds + n_posterior_rounds == 0:
        return "no active-learning rounds configured (Latin hypercube only)"
    parts = []
    for phase, n_max, label in (
        ("gp", n_gp_rounds, "GP rounds"),
        ("posterior", n_posterior_rounds, "posterior rounds"),
    ):
        if n_max == 0:
            continue
        ran = sum(1 for c in record["checks"] if c["kind"] == phase)
        why = record["stopped"].get(phase)
        parts.append(
            f"{label}: {ran} of {n_max} run, stopped as {why}"
            if why
            else f"{label}: all {n_max} run without the stopping criterion holding"
        )
    return "; ".join(parts)


def plan_next_round(
    phase: str,
    round_index: int,
    data,
    previous_info: Mapping | None,
    *,
    space: ParameterSpace,
    settings: Mapping,
    ess_threshold: float,
    pareto_k_threshold: float,
) -> dict:
    """:func:`plan_round` for workflow round ``round_index``, checking round ``round_index − 1``.

    Parameters
    ----------
    phase : {"gp", "posterior"}
        The kind of round ``round_index`` (after the last round: the last round's kind).
    round_index : int
        The round to plan (rounds are numbered from 1; the design is round 0).
    data : EvaluationTable
        Every point evaluated before it, with its round.
    previous_info : Mapping or None
        The proposal info of round ``round_index − 1`` (None after the design).
    space : ParameterSpace
        The box.
    settings : Mapping
        The ``active_learning`` config section.
    ess_threshold, pareto_k_threshold : float
        The validation's thresholds, for posterior rounds.

    Returns
    -------
    dict
        The round's ``stopping`` record (see :func:`plan_round`).
    """
    check = None
    method = previous_info.get("method", "gp") if previous_info else None
    if method in ("gp", "posterior"):
        batch = data.round == round_index - 1
        if method == "gp":
            check = gp_round_check(
                previous_info,
                data.theta[batch],
                data.chi2[batch],
                data.ok[batch],
                data.theta[~batch],
                data.chi2[~batch],
                data.ok[~batch],
                space=space,
                tolerance=settings["stop_tolerance"],
                open_level=settings["trust_region_open"],
                separation=settings["trust_region_separation"],
            )
        else:
            check = posterior_round_check(
                previous_info,
                data.chi2[batch],
                data.ok[batch],
                ess_threshold=ess_threshold,
                pareto_k_threshold=pareto_k_threshold,
                seed=int(settings["seed"]),
            )
    return plan_round(
        phase,
        previous_info.get("stopping") if previous_info else None,
        check,
        n_evaluated=len(data),
        batch_size=int(settings["batch_size"]),
        stop_after=int(settings["stop_after"]),
        max_calls=settings["max_calls"],
    )


def stop_columns(record: Mapping, round_index: int) -> dict:
    """The :data:`STOP_COLUMNS` of round ``round_index`` from the final ``stopping`` record.

    Parameters
    ----------
    record : Mapping
        The record after the last round (every check).
    round_index : int
        The round.

    Returns
    -------
    dict
        Its check's numbers (NaN where the round had none or the check does not apply).
    """
    check = next((c for c in record["checks"] if c["round"] == round_index), {})
    keys = (
        "converged",
        "membership",
        "batch_mae",
        "best_gain",
        "new_basins",
        "ess_fraction",
        "pareto_k",
    )
    return {
        col: math.nan if check.get(key) is None else float(check[key])  # JSON null: NaN
        for col, key in zip(STOP_COLUMNS, keys, strict=True)
    }


def empty_round_info(round_index: int, n_fit: int, cpu_seconds: float, reason: str) -> dict:
    """The proposal info of a round after its phase stopped.

    It records whether the proposer process imported TensorFlow or xgboost, which an empty round
    must not pay for.

    Parameters
    ----------
    round_index : int
        The round.
    n_fit : int
        Successful evaluations so far.
    cpu_seconds : float
        CPU seconds the proposer spent (the check of the round before included).
    reason : str
        Why its phase stopped.

    Returns
    -------
    dict
        ``method`` "stopped", the numbers above and the two import flags.
    """
    return {
        "method": "stopped",
        "round_index": int(round_index),
        "n_fit": int(n_fit),
        "cpu_seconds": float(cpu_seconds),
        "reason": reason,
        "tensorflow_imported": "tensorflow" in sys.modules,
        "xgboost_imported": "xgboost" in sys.modules,
    }
