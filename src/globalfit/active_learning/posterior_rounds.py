"""Posterior rounds: the last active-learning rounds evaluate points drawn from the surrogate's
posterior.

Why: the GP rounds (expected improvement) concentrate on the minimum, but the posterior also lives
where χ² is merely moderate. On the ALP model that is the Standard-Model-like plateau
(χ² ≈ 19, Δχ² ≈ 5.6, about 40 % of the box) next to the wall of prompt ALP decays (χ² 10²–10¹⁰);
the classifier has to know where one ends and the other begins, everywhere the posterior goes. On
the first default ALP run (GP rounds only) 125 of the 200 validation samples drawn from the
surrogate's posterior had a true χ² above 100: the classifier, calibrated for 99 % recall on few
points, kept large parts of the wall, and the importance-sampling ESS fraction was 0.27.

A posterior round fits a two-stage surrogate (the configured settings, with a short optuna
tuning of ``n_trials`` trials per model: untuned default hyperparameters gave a classifier that
discarded no wall at all on the ALP data) on every point evaluated so far, samples its posterior
with emcee under the
configured prior, and proposes ``batch_size`` distinct points of the chain (second half, drawn
without replacement, none within ``min_distance`` of an evaluated point). Wherever that surrogate
is wrong about the posterior, the evaluated batch says so and the next surrogate learns it: the
loop is importance sampling's own diagnosis turned into training data. The final surrogate and
the validation (fresh posterior samples, never trained on) come after these rounds.

Seeds: the surrogate uses the configured surrogate seed, emcee and the draw use
``SeedSequence([seed, round_index])``.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Mapping
from functools import partial

import numpy as np
from scipy.spatial import cKDTree

from globalfit.inference.priors import Prior
from globalfit.space import ParameterSpace

__all__ = ["propose_posterior_batch"]


def propose_posterior_batch(
    theta: np.ndarray,
    chi2: np.ndarray,
    ok: np.ndarray,
    *,
    space: ParameterSpace,
    prior: Prior,
    batch_size: int,
    surrogate_settings: Mapping,
    round_index: int,
    seed: int,
    n_walkers: int = 64,
    n_steps: int = 2000,
    n_trials: int = 10,
    min_distance: float = 1e-3,
    classifier_weighted: bool = False,
    nthread: int = 1,
) -> tuple[np.ndarray, dict]:
    """Propose ``batch_size`` points from the posterior of a surrogate fitted to the points so far.

    The surrogate is trained (not compiled) on the ok points; emcee, started at the (up to) 8
    lowest-χ² ok points, samples its posterior, and the batch is drawn at random from the
    chain's second half among points farther than ``min_distance`` from the evaluated points and
    from each other.

    Parameters
    ----------
    theta : (n, d) ndarray
        Evaluated points.
    chi2 : (n,) ndarray
        Their χ².
    ok : (n,) bool ndarray
        Successful evaluations; failed points are excluded from the fit, but no proposal lands on
        them either.
    space : ParameterSpace
        The parameter box.
    prior : Prior
        The prior of the posterior.
    batch_size : int
        Number of points to propose.
    surrogate_settings : Mapping
        The config's ``surrogate`` section; its optuna trial count is capped at ``n_trials``.
    round_index, seed : int
        Together they seed the chain and the draws.
    n_walkers, n_steps : int
        emcee walkers and steps (the first half is discarded as burn-in).
    n_trials : int
        Cap on the optuna trials per model.
    min_distance : float
        Minimum unit-cube distance of a proposal from the evaluated points and the other picks.
    classifier_weighted : bool
        The posterior is exp(−χ²/2)·p_in_region, as the workflow's
        (``inference.classifier_weighted``).
    nthread : int
        Threads for training.

    Returns
    -------
    theta_new : (batch_size, d) ndarray
        The proposed points.
    info : dict
        Surrogate and emcee summaries, predicted χ² and p_in_region of the batch, CPU and wall
        seconds.

    Raises
    ------
    RuntimeError
        If the chain has fewer than ``batch_size`` distinct new points.
    """
    from globalfit.inference.sampler import sample_posterior
    from globalfit.surrogate.stage import train_bundle, train_kwargs_from_config

    t_cpu, t_wall = time.process_time(), time.perf_counter()
    theta = space.check(theta, what="posterior round: evaluated points")
    chi2 = np.asarray(chi2, dtype=np.float64)
    ok = np.asarray(ok, dtype=bool) & np.isfinite(chi2)
    kwargs = train_kwargs_from_config(surrogate_settings)
    kwargs["n_trials"] = min(int(kwargs["n_trials"]), int(n_trials))
    with tempfile.TemporaryDirectory(prefix="globalfit-posterior-round-") as tmp:
        surrogate = train_bundle(
            theta, chi2, space, tmp, ok=ok, compile=False, nthread=nthread, **kwargs
        )
    cpu_fit = time.process_time() - t_cpu

    ss_chain, ss_draw = np.random.SeedSequence([int(seed), int(round_index)]).spawn(2)
    order = np.argsort(np.where(ok, chi2, np.inf), kind="stable")
    starts = theta[order[: min(8, int(ok.sum()))]]
    result = sample_posterior(
        partial(surrogate.predict_chi2_inside, classifier_weighted=classifier_weighted),
        prior,
        starts,
        n_walkers=n_walkers,
        n_steps=n_steps,
        seed=int(ss_chain.generate_state(1)[0]),
        progress_every=0,
    )
    chain = result.chain[n_steps // 2 :].reshape(-1, space.dim)  # the second half: past burn-in

    rng = np.random.default_rng(ss_draw)
    u_chain = space.to_unit(chain)
    far = cKDTree(space.to_unit(theta)).query(u_chain, k=1)[0] > min_distance
    picks: list[int] = []
    for i in rng.permutation(np.flatnonzero(far)):
        if len(picks) == batch_size:
            break
        if all(np.linalg.norm(u_chain[i] - u_chain[j]) > min_distance for j in picks):
            picks.append(int(i))
    if len(picks) < batch_size:
        raise RuntimeError(
            f"posterior round {round_index}: only {len(picks)} distinct new chain points for a "
            "batch of "
            f"{batch_size}; increase posterior_steps"
        )
    theta_new = chain[np.array(picks)]
    p_in, chi2_pred = surrogate.predict(theta_new)
    # the density the chain sampled, which the next round's importance-sampling check compares
    chi2_sampled = surrogate.predict_chi2(theta_new, classifier_weighted=classifier_weighted)
    info = {
        "method": "posterior",
        "round_index": int(round_index),
        "random_state": int(seed),
        "n_points": int(len(theta)),
        "n_fit": int(ok.sum()),
        "n_excluded": int(len(theta) - ok.sum()),
        "surrogate": {
            "threshold_p": float(surrogate.threshold_p_),
            "chi2_best": float(surrogate.chi2_best_),
            "test_mae_in_region": float(surrogate.metrics_["test"]["mae_in_region"]),
            "wall_discard_rate": float(surrogate.metrics_["classifier"]["wall_discard_rate"]),
        },
        "emcee": {
            "n_walkers": int(n_walkers),
            "n_steps": int(n_steps),
            "acceptance": float(np.mean(result.acceptance)),
            "max_tau": float(np.max(result.tau)),
        },
        "pred_chi2": [float(v) for v in chi2_pred],
        "chi2_sampled": [float(v) for v in chi2_sampled],
        "p_in_region": [float(v) for v in p_in],
        "cpu_seconds_fit": float(cpu_fit),
        "cpu_seconds_propose": float(time.process_time() - t_cpu - cpu_fit),
        "cpu_seconds": float(time.process_time() - t_cpu),
        "cpu_seconds_import": 0.0,
        "wall_seconds": float(time.perf_counter() - t_wall),
    }
    return theta_new, info
