"""The two callables that :func:`~globalfit.explain.ablation.run_ablation` needs, built from
the package's own surrogate and sampler.

A reduced surrogate is trained exactly like the full one (same settings, split and seed; or,
with :func:`retuning_fitter`, the same tuning budget), and sampled with the same prior, starts
and seed, so that the full and reduced models differ only by the dropped parameter.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from pathlib import Path

import numpy as np

from globalfit.explain.ablation import FitFn, SampleFn

__all__ = ["emcee_sampler", "retuning_fitter", "surrogate_fitter", "surrogate_settings"]


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
    ok: np.ndarray | None = None,
    **settings,
) -> FitFn:
    """fit(columns) -> (Surrogate, test MAE) training a Surrogate on theta[:, columns].

    The model is ``Surrogate(subspace, **settings)``. The split depends only on (χ², fractions,
    seed), so every column subset is tested on the same points. MAE =
    ``metrics_['test']['mae_in_region']``. Derived features that use a dropped parameter are
    dropped with it.

    Parameters
    ----------
    theta : (N, d) ndarray
        The points.
    chi2 : (N,) ndarray
        Their χ².
    space : ParameterSpace
        The full parameter box.
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
    from globalfit.features import FeatureMap
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
        features = FeatureMap(space.names, settings.get("features", ())).restricted_to(sub.names)
        sur = Surrogate(sub, **{**settings, "features": features}).fit(theta[:, cols], chi2, ok)
        return sur, float(sur.metrics_["test"]["mae_in_region"])

    return fit


def retuning_fitter(
    theta: np.ndarray,
    chi2: np.ndarray,
    space,
    workdir: Path | str,
    *,
    ok: np.ndarray | None = None,
    **train_kwargs,
) -> FitFn:
    """fit(columns) -> (Surrogate, test MAE) like :func:`surrogate_fitter`, but tuned again.

    Tuned with :func:`globalfit.surrogate.train_bundle` and the same optuna budget, so a reduced
    model gets the chance the full one had. Derived features that use a dropped parameter are
    dropped with it.

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
    from globalfit.features import FeatureMap
    from globalfit.space import ParameterSpace
    from globalfit.surrogate.stage import train_bundle

    theta = np.asarray(theta, dtype=np.float64)

    def fit(columns: Sequence[int]):
        cols = list(columns)
        sub = ParameterSpace(
            tuple(space.names[j] for j in cols), space.lower[cols], space.upper[cols]
        )
        where = Path(workdir) / "-".join(sub.names)
        features = FeatureMap(space.names, train_kwargs.get("features", ())).restricted_to(
            sub.names
        )
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
    """sample(surrogate, columns) -> (n, len(columns)) posterior samples.

    Samples with :func:`globalfit.inference.sample_posterior` on ``surrogate.predict_chi2`` and
    the prior restricted to the columns. Same seed for every call, so full and reduced chains
    share their random numbers.

    Parameters
    ----------
    prior : Prior
        :class:`globalfit.inference.Prior` over all d parameters.
    starts : (m, d) ndarray
        Start points (e.g. the lowest-χ² dataset points), projected on the columns.
    n_walkers, n_steps, seed : int
        emcee settings, the same for every call.
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
    from globalfit.inference.priors import Prior
    from globalfit.inference.sampler import sample_posterior
    from globalfit.space import ParameterSpace

    starts = np.atleast_2d(np.asarray(starts, dtype=np.float64))
    space = prior.space
    if starts.shape[1] != space.dim:
        raise ValueError(f"starts must be (m, {space.dim}), got {starts.shape}")
    kwargs.setdefault("progress_every", 0)

    def sample(model, columns: Sequence[int]) -> np.ndarray:
        cols = list(columns)
        sub = ParameterSpace(
            tuple(space.names[j] for j in cols), space.lower[cols], space.upper[cols]
        )
        sub_prior = Prior(sub, tuple(prior.parameters[j] for j in cols))
        chi2 = partial(model.predict_chi2, classifier_weighted=classifier_weighted)
        res = sample_posterior(
            chi2,
            sub_prior,
            starts[:, cols],
            n_walkers=n_walkers,
            n_steps=n_steps,
            seed=seed,
            **kwargs,
        )
        return res.samples

    return sample
