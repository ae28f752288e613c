"""What an optuna study of :mod:`globalfit.surrogate.tuning` leaves for the report: the table of
its completed trials and the seeded fANOVA importances of its parameters."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

__all__ = ["param_importances", "save_trials_csv", "trials_table"]


def trials_table(study) -> pd.DataFrame:
    """One row per trial: number, state, value, params_*, user_attrs_*, duration (seconds).

    Parameters
    ----------
    study : optuna.Study
        The study.

    Returns
    -------
    pandas.DataFrame
        The table.
    """
    df = study.trials_dataframe(
        attrs=("number", "state", "value", "duration", "params", "user_attrs")
    )
    if "duration" in df:
        df["duration"] = df["duration"].dt.total_seconds()
    # completed trials only, numbered in order: a study resumed after a kill holds the killed
    # trial as FAIL, and its table would otherwise differ from an uninterrupted run's
    if "state" in df:
        df = df[df["state"] == "COMPLETE"].reset_index(drop=True)
        df["number"] = range(len(df))
        from optuna.distributions import IntDistribution
        from optuna.trial import TrialState

        done = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
        for name, dist in (done[0].distributions if done else {}).items():
            if isinstance(dist, IntDistribution):  # NaN rows made it float
                df[f"params_{name}"] = df[f"params_{name}"].astype(int)
        for name, value in (done[0].user_attrs if done else {}).items():
            if isinstance(value, int) and f"user_attrs_{name}" in df:
                df[f"user_attrs_{name}"] = df[f"user_attrs_{name}"].astype(int)
    return df


def save_trials_csv(study, path: Path | str) -> pd.DataFrame:
    """Write :func:`trials_table` of a study to CSV.

    Parameters
    ----------
    study : optuna.Study
        The study.
    path : path
        The CSV file (its directory is created).

    Returns
    -------
    pandas.DataFrame
        The table.
    """
    df = trials_table(study)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    df.to_csv(path, index=False)
    return df


def param_importances(study, *, seed: int = 0) -> dict[str, float]:
    """Normalised parameter importances (fANOVA with a seeded forest).

    Parameters
    ----------
    study : optuna.Study
        The study.
    seed : int
        Seed of the forest.

    Returns
    -------
    dict of str to float
        {parameter: importance}; {} if fewer than 2 complete trials or no parameter varied.
    """
    import optuna
    from optuna.trial import TrialState

    complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    if len(complete) < 2:
        return {}
    try:
        evaluator = optuna.importance.FanovaImportanceEvaluator(seed=seed)
        return dict(optuna.importance.get_param_importances(study, evaluator=evaluator))
    except (RuntimeError, ValueError):  # e.g. all trials share one parameter value
        return {}
