"""The two callables that :func:`~globalfit.explain.ablation.run_ablation` needs, built from
the package's own surrogate and sampler.

A reduced surrogate is trained exactly like the full one (same settings, split and seed; or,
with :func:`retuning_fitter`, the same tuning budget), and sampled with the same prior, starts
and seed, so that the full and reduced models differ only by the dropped parameter. The dropped
parameter is fixed at its reference value, and the derived features built on it are recomputed
there (:meth:`~globalfit.features.FeatureMap.fixed`): dropping a parameter does not also drop
the information its features carry about the others.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from pathlib import Path

import numpy as np

from globalfit.explain.ablation import FitFn, SampleFn

__all__ = [
    "MAX_EXTENSIONS",
    "emcee_sampler",
    "reduced_features",
    "retuning_fitter",
    "surrogate_fitter",
    "surrogate_settings",
]

#: At most this many n_steps-long extensions of an ablation chain towards 50 τ.
MAX_EXTENSIONS = 3


def reduced_features(space, features, reference, columns) -> tuple[list[dict], list[str]]:
    """Feature definitions of the model on ``columns``, the other parameters fixed at their
    reference values (:meth:`~globalfit.features.FeatureMap.fixed`).

    Parameters
    ----------
    space : ParameterSpace
        The full box.
    features : sequence of mapping
        The full model's derived features.
    reference : mapping
        {parameter: value}; must hold every dropped parameter.
    columns : sequence of int
        The kept parameters.

    Returns
    -------
    definitions : list of dict
        The reduced model's features.
    constant : list of str
        Features that became constants there, left out.

    Raises
    ------
    ValueError
        When a dropped parameter has no reference value.
    """
    from globalfit.features import FeatureMap

    dropped = [n for j, n in enumerate(space.names) if j not in set(columns)]
    missing = [n for n in dropped if n not in reference]
    if missing:
        raise ValueError(f"no reference value to fix the dropped parameter(s) {missing} at")
    return FeatureMap(space.names, features).fixed({n: float(reference[n]) for n in dropped})


def surrogate_settings(surrogate) -> dict:
    """The constructor settings of a Surrogate (hyperparameters, split, seed).

    To train a reduced surrogate exactly like the full one.

    Parameters
    ----------
    surrogate : Surrogate
        A fitted or loaded surrogate.

    Returns
    -------
    dict
        Its ``get_params()``.
    """
    return surrogate.get_params()


def surrogate_fitter(
    theta: np.ndarray,
    chi2: np.ndarray,
    space,
    *,
    reference,
    ok: np.ndarray | None = None,
    **settings,
) -> FitFn:
    """fit(columns) -> (Surrogate, test MAE) training a Surrogate on theta[:, columns].

    The model is ``Surrogate(subspace, **settings)``. The split depends only on (χ², fractions,
    seed), so every column subset is tested on the same points. MAE =
    ``metrics_['test']['mae_in_region']``. A dropped parameter is fixed at its ``reference``
    value in the derived features (:func:`reduced_features`).

    Parameters
    ----------
    theta : (N, d) ndarray
        The points.
    chi2 : (N,) ndarray
        Their χ².
    space : ParameterSpace
        The full parameter box.
    reference : mapping
        {parameter: value} at which a dropped parameter is fixed.
    ok : (N,) bool ndarray, optional
        Usable points.
    **settings
        Surrogate keyword arguments (e.g. ``surrogate_settings(full)``: tuned classifier /
        regressor params, seed, fractions ...).

    Returns
    -------
    callable
        fit(columns) for :func:`run_ablation`.

    Raises
    ------
    ValueError
        If theta is not (N, d).
    """
    from globalfit.space import ParameterSpace
    from globalfit.surrogate.model import Surrogate

    theta = np.asarray(theta, dtype=np.float64)
    if theta.ndim != 2 or theta.shape[1] != space.dim:
        raise ValueError(f"theta must be (N, {space.dim}), got {theta.shape}")

    def fit(columns: Sequence[int]):
        cols = list(columns)
        sub = ParameterSpace(
            tuple(space.names[j] for j in cols), space.lower[cols], space.upper[cols]
        )
        features, _ = reduced_features(space, settings.get("features", ()), reference, cols)
        sur = Surrogate(sub, **{**settings, "features": features}).fit(theta[:, cols], chi2, ok)
        return sur, float(sur.metrics_["test"]["mae_in_region"])

    return fit


def retuning_fitter(
    theta: np.ndarray,
    chi2: np.ndarray,
    space,
    workdir: Path | str,
    *,
    reference,
    ok: np.ndarray | None = None,
    **train_kwargs,
) -> FitFn:
    """fit(columns) -> (Surrogate, test MAE) like :func:`surrogate_fitter`, but tuned again.

    Tuned with :func:`globalfit.surrogate.train_bundle` and the same optuna budget, so a reduced
    model gets the chance the full one had. A dropped parameter is fixed at its ``reference``
    value in the derived features (:func:`reduced_features`).

    Parameters
    ----------
    theta : (N, d) ndarray
        The points.
    chi2 : (N,) ndarray
        Their χ².
    space : ParameterSpace
        The full parameter box.
    workdir : path
        Bundles and resumable studies go to ``workdir/<columns>/``.
    reference : mapping
        {parameter: value} at which a dropped parameter is fixed.
    ok : (N,) bool ndarray, optional
        Usable points.
    **train_kwargs
        :func:`~globalfit.surrogate.train_bundle` arguments: n_trials, n_folds, seed, Surrogate
        settings ...

    Returns
    -------
    callable
        fit(columns) for :func:`run_ablation`.
    """
    from globalfit.space import ParameterSpace
    from globalfit.surrogate.stage import train_bundle

    theta = np.asarray(theta, dtype=np.float64)

    def fit(columns: Sequence[int]):
        cols = list(columns)
        sub = ParameterSpace(
            tuple(space.names[j] for j in cols), space.lower[cols], space.upper[cols]
        )
        where = Path(workdir) / "-".join(sub.names)
        features, _ = reduced_features(space, train_kwargs.get("features", ()), reference, cols)
        sur = train_bundle(
            theta[:, cols],
            chi2,
            sub,
            where / "bundle",
            ok=ok,
            compile=False,
            study_dir=where / "studies",
            **{**train_kwargs, "features": features},
        )
        return sur, float(sur.metrics_["test"]["mae_in_region"])

    return fit


def emcee_sampler(
    prior,
    starts: np.ndarray,
    *,
    n_walkers: int = 32,
    n_steps: int = 2000,
    seed: int = 0,
    classifier_weighted: bool = False,
    **kwargs,
) -> SampleFn:
    """sample(surrogate, columns) -> the chain (a SamplingResult: ``samples``, ``converged``).

    Samples with :func:`globalfit.inference.sample_posterior` on ``surrogate.predict_chi2`` and
    the prior restricted to the columns. Same seed for every call, so full and reduced chains
    share their random numbers. A chain shorter than 50 τ is continued (from its last state, as
    one longer run) to 1.2 · 50 max τ steps, at most ``MAX_EXTENSIONS`` times n_steps more; one
    still short is returned with ``converged = False``, which the verdict reports.

    Parameters
    ----------
    prior : Prior
        :class:`globalfit.inference.Prior` over all d parameters.
    starts : (m, d) ndarray
        Start points (e.g. the lowest-χ² dataset points), projected on the columns.
    n_walkers, n_steps, seed : int
        emcee settings, the same for every call; n_steps is the first length tried.
    classifier_weighted : bool
        Sample exp(−χ²/2)·p_in_region, as the workflow's posterior may
        (:meth:`globalfit.surrogate.Surrogate.predict_chi2`).
    **kwargs
        Further :func:`globalfit.inference.run_emcee` arguments (moves, ball_scale, ...).

    Returns
    -------
    callable
        sample(model, columns) for :func:`run_ablation`.

    Raises
    ------
    ValueError
        If starts is not (m, d).
    """
    import math
    import tempfile

    from globalfit.inference.chains import CONVERGENCE_FACTOR
    from globalfit.inference.priors import Prior
    from globalfit.inference.sampler import sample_posterior
    from globalfit.space import ParameterSpace

    starts = np.atleast_2d(np.asarray(starts, dtype=np.float64))
    space = prior.space
    if starts.shape[1] != space.dim:
        raise ValueError(f"starts must be (m, {space.dim}), got {starts.shape}")
    kwargs.setdefault("progress_every", 0)

    def sample(model, columns: Sequence[int]):
        cols = list(columns)
        sub = ParameterSpace(
            tuple(space.names[j] for j in cols), space.lower[cols], space.upper[cols]
        )
        sub_prior = Prior(sub, tuple(prior.parameters[j] for j in cols))
        chi2 = partial(model.predict_chi2, classifier_weighted=classifier_weighted)
        longest = n_steps * (1 + MAX_EXTENSIONS)
        with tempfile.TemporaryDirectory(prefix="globalfit-ablation-") as tmp:
            steps = n_steps
            while True:
                res = sample_posterior(
                    chi2,
                    sub_prior,
                    starts[:, cols],
                    n_walkers=n_walkers,
                    n_steps=steps,
                    seed=seed,
                    backend_path=Path(tmp) / "chain.h5",
                    **kwargs,
                )
                if res.converged or steps >= longest:
                    return res
                wanted = math.ceil(1.2 * CONVERGENCE_FACTOR * float(np.max(res.tau)))
                steps = min(longest, max(wanted, steps + 1))

    return sample
