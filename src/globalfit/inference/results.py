"""The inference stage's ``summary.json``: best fit confirmed by the true χ², significance against
the reference point, convergence, posterior, derived quantities, profiles and the validation
verdict, assembled from the stage's outputs.

The best fit is the candidate with the lowest *true* χ² among the surrogate's local minima and the
dataset's best point (always the last candidate): the surrogate proposes, the oracle decides.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from globalfit.evaluation.table import EvaluationTable
from globalfit.inference.contributions import chi2_contributions
from globalfit.inference.evidence import bayes_factor
from globalfit.inference.profile_checks import profiles_summary
from globalfit.inference.significance import significance_table
from globalfit.inference.summary import posterior_summary

__all__ = [
    "confirmed_best_fit",
    "convergence_summary",
    "evidence_summary",
    "inference_summary",
    "reference_significance",
]


def confirmed_best_fit(
    confirm: EvaluationTable, names: Sequence[str], n_candidates: int, chi2_surrogate: float
) -> dict:
    """The best of the first ``n_candidates`` rows of the confirmation batch (the surrogate's
    minima, then the dataset's best point) by their true χ²; a RuntimeError when all failed."""
    candidates = np.flatnonzero(confirm.ok[:n_candidates])
    if candidates.size == 0:
        raise RuntimeError(
            "the true oracle failed at every best-fit candidate: "
            f"{list(confirm.message[:n_candidates])}"
        )
    i = candidates[np.argmin(confirm.chi2[candidates])]
    last = n_candidates - 1
    return {
        "theta": dict(zip(names, map(float, confirm.theta[i]), strict=True)),
        "chi2_true": float(confirm.chi2[i]),
        "chi2_surrogate": chi2_surrogate,
        "source": "best evaluated point" if i == last else f"surrogate local minimum {i + 1}",
        "confirm_row": int(i),
        "candidates_chi2_true": [float(c) for c in confirm.chi2[:n_candidates]],
        "note": (
            "lowest true chi2 among the surrogate's best local minima (multi-start minimisation) "
            "and the best point of the dataset (the last candidate)"
        ),
    }


def reference_significance(
    confirm: EvaluationTable, reference_point: Mapping[str, float], chi2_best: float, dof: int
) -> tuple[dict, dict]:
    """(``sm``, ``significance``) sections: the reference point is the confirmation batch's last
    row; Δχ² = χ²_ref − χ²_best in the local and Wilks conventions
    (:func:`~globalfit.inference.significance.significance_table`)."""
    chi2_ref = float(confirm.chi2[-1])
    sm = {"theta": dict(reference_point), "chi2": chi2_ref, "status": str(confirm.status[-1])}
    return sm, significance_table(chi2_ref, chi2_best, n_params=len(reference_point), dof=dof)


def convergence_summary(diagnostics: Mapping) -> dict:
    """The chain's convergence section from :meth:`SamplingResult.diagnostics` output."""
    d = diagnostics
    return {
        "converged": d["converged"],
        "tau": d["tau"],
        "max_tau": d["max_tau"],
        "n_steps": d["n_steps"],
        "rule": d["convergence_rule"],
        "acceptance": d["acceptance_mean"],
        "ess": d["ess"],
        "burn": d["burn"],
        "thin": d["thin"],
        "notes": d["notes"],
        # measured in the run, with the workflow's other jobs alongside
        "log_prob_evals_per_s": d.get("log_prob_evals_per_s"),
    }


def inference_summary(
    *,
    names: Sequence[str],
    sampling: Mapping,
    posterior: Mapping,
    surrogate_fit: Mapping,
    validation: Mapping,
    confirm: EvaluationTable,
    reference_point: Mapping[str, float] | None,
    dof: int,
    derived_values: Mapping[str, np.ndarray] | None = None,
    profile_check: EvaluationTable | None = None,
    profile_tolerance: float = 0.5,
    sectors: Mapping[str, Sequence[str]] | None = None,
) -> dict:
    """summary.json of the inference stage.

    Parameters
    ----------
    Parameters
    ----------
    names : sequence of str
        Parameter names.
    sampling : mapping
        emcee's ``sampling.json`` (``diagnostics``, ``derived``).
    posterior : mapping
        ``posterior.json``: the reported posterior's summary, the islands in both samplers and
        the surrogate's evidence.
    surrogate_fit : mapping
        ``best_fit_surrogate.json`` (the surrogate's best fit and profiles).
    validation : mapping
        ``validation.json`` (reweighting metrics, ``passed``, ``sentence``, the reweighted
        posterior and the evidence corrected by the truth).
    confirm : EvaluationTable
        True χ² of the best-fit candidates, then of the reference point if there is one.
    reference_point : mapping or None
        The null hypothesis.
    dof : int
        Wilks' degrees of freedom.
    derived_values : mapping, optional
        {name: (n,) values} of derived quantities computed on posterior samples.
    profile_check : EvaluationTable, optional
        True χ² at the profiles' checked minimisers, in the plan's order.
    profile_tolerance : float
        Largest |Δχ²_true − Δχ²_surrogate| of a validated profile.
    sectors : mapping, optional
        {sector: observables} for the per-sector sums of :func:`chi2_contributions`.

    Returns
    -------
    dict
        The summary.
    """
    n_candidates = len(confirm) - (reference_point is not None)
    best = confirmed_best_fit(confirm, names, n_candidates, surrogate_fit["best_fit"]["chi2"])
    summary = {"best_fit": best, "sm": None, "significance": None}
    if reference_point is not None:
        summary["sm"], summary["significance"] = reference_significance(
            confirm, reference_point, best["chi2_true"], dof
        )
        summary["chi2_contributions"] = chi2_contributions(
            confirm, best["confirm_row"], -1, sectors=sectors
        )
    summary["convergence"] = convergence_summary(sampling["diagnostics"])
    summary["posterior_sampler"] = posterior["sampler"]
    summary["posterior"] = posterior["parameters"]
    if "posterior_reweighted" in validation:
        summary["posterior_reweighted"] = validation["posterior_reweighted"]
    summary["islands"] = posterior["islands"]
    summary["evidence"] = evidence_summary(posterior["evidence"], validation.get("evidence"))
    if summary["sm"] is not None:
        summary["bayes_factor"] = {
            **bayes_factor(
                summary["evidence"]["log_z_best"],
                summary["evidence"]["log_z_best_err"],
                summary["sm"]["chi2"],
            ),
            "against": "the reference point as a point hypothesis (ln Z_ref = -chi2_ref / 2)",
            "log_z": summary["evidence"]["log_z_best_source"],
        }
    summary["derived"] = dict(sampling.get("derived", {}))
    if derived_values:
        cols = {k: np.asarray(v) for k, v in derived_values.items()}
        summary["derived"].update(
            posterior_summary(np.column_stack(list(cols.values())), list(cols))
        )
    summary["profiles"], summary["profile_reference"] = profiles_summary(
        surrogate_fit,
        None if profile_check is None else (profile_check.chi2, profile_check.ok),
        best["chi2_true"],
        profile_tolerance,
    )
    summary["validation"] = {
        k: v for k, v in validation.items() if k not in ("posterior_reweighted", "evidence")
    }
    summary["validation_passed"] = bool(validation["passed"])
    warnings = []
    if not summary["validation_passed"]:
        warnings.append("THE SURROGATE POSTERIOR FAILS ITS VALIDATION: " + validation["sentence"])
    if not posterior["islands"]["agree"]:
        warnings.append(posterior["islands"]["sentence"])
    if warnings:
        summary["warning"] = " ".join(warnings)
    return summary


def evidence_summary(surrogate: Mapping, corrected: Mapping | None) -> dict:
    """The ``evidence`` section: ln Z on the surrogate, corrected by the true χ² where it could be.

    Parameters
    ----------
    surrogate : mapping
        ``posterior.json``'s ``evidence`` (``log_z``, ``log_z_err``, the box variation).
    corrected : mapping or None
        :func:`~globalfit.inference.evidence.corrected_log_evidence`'s output.

    Returns
    -------
    dict
        Both, and ``log_z_best`` (the corrected value when finite) for the Bayes factor.
    """
    out = dict(surrogate)
    if corrected:
        out.update(corrected)
    finite = corrected is not None and np.isfinite(corrected.get("log_z_corrected", np.nan))
    out["log_z_best"] = out["log_z_corrected"] if finite else out["log_z"]
    out["log_z_best_err"] = out["log_z_corrected_err"] if finite else out["log_z_err"]
    out["log_z_best_source"] = "log_z_corrected" if finite else "log_z"
    out["caveat"] = (
        "the correction sees only where the surrogate put posterior mass: an island the "
        "classifier discards is missing from both ln Z values"
    )
    return out
