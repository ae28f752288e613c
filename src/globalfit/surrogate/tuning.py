"""Hyperparameter tuning of the surrogate's two XGBoost models with optuna.

Each trial scores one parameter set by k-fold cross-validation (``xgboost.cv`` with early
stopping) on the *training* part of a :class:`globalfit.surrogate.DataSplit` only: the
validation part is kept for early stopping and threshold calibration of the final model, the
test part for the report.

Resumable and deterministic:

* The study lives in an SQLite file (``optuna.storages.RDBStorage``, ``load_if_exists=True``),
  which appears only once its schema is complete.
  ``n_trials`` is the *total* wanted: a rerun with the same number runs nothing, a rerun with
  more runs only the missing ones. Trials left RUNNING by a killed process are marked FAIL and
  re-done (one process per study is assumed, as in the workflow).
* The trial proposed after k complete trials comes from a ``TPESampler`` seeded with (seed, k),
  so an interrupted-and-resumed study proposes the same parameters as an uninterrupted one.
  ``n_jobs`` is 1.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from globalfit.surrogate.split import kfold_indices

__all__ = [
    "SEARCH_SPACE",
    "XGBTuner",
    "suggest_params",
    "tune_classifier",
    "tune_regressor",
]

log = logging.getLogger(__name__)

#: name -> (low, high, log scale, integer). XGBoost's native aliases are used as names.
SEARCH_SPACE = {
    "max_depth": (2, 10, False, True),
    "learning_rate": (0.01, 0.3, True, False),
    "subsample": (0.5, 1.0, False, False),
    "colsample_bytree": (0.5, 1.0, False, False),
    "min_child_weight": (1e-2, 20.0, True, False),
    "reg_alpha": (1e-3, 10.0, True, False),
    "reg_lambda": (1e-3, 10.0, True, False),
}


def suggest_params(trial, search_space: Mapping = SEARCH_SPACE) -> dict:
    """Ask an optuna trial for one value of every parameter of ``search_space``.

    Parameters
    ----------
    trial : optuna.Trial
        The trial.
    search_space : Mapping
        name -> (low, high, log scale, integer), as :data:`SEARCH_SPACE`.

    Returns
    -------
    dict
        {name: value}.
    """
    out = {}
    for name, (lo, hi, log, integer) in search_space.items():
        if integer:
            out[name] = trial.suggest_int(name, int(lo), int(hi), log=log)
        else:
            out[name] = trial.suggest_float(name, float(lo), float(hi), log=log)
    return out


class XGBTuner:
    """optuna search of XGBoost parameters by k-fold CV, stored in SQLite and resumable.

    objective, eval_metric : XGBoost names; the study minimises the mean held-out
        ``eval_metric`` at its best boosting round (so eval_metric must be "lower is better",
        e.g. logloss, mae, rmse).
    storage : path of the SQLite file (created with its directory if missing).
    n_trials : total number of COMPLETE trials wanted in the study.
    base_params : fixed XGBoost parameters added to every trial (not tuned).
    stratify : stratify the folds by the label (for classifiers).
    """

    def __init__(
        self,
        *,
        objective: str,
        eval_metric: str,
        storage: Path | str,
        study_name: str,
        n_trials: int,
        n_folds: int = 5,
        num_boost_round: int = 1000,
        early_stopping_rounds: int = 30,
        search_space: Mapping = SEARCH_SPACE,
        base_params: Mapping | None = None,
        stratify: bool = False,
        n_startup_trials: int = 10,
        seed: int = 0,
        nthread: int = 1,
    ):
        self.objective = objective
        self.eval_metric = eval_metric
        self.storage = storage
        self.study_name = study_name
        self.n_trials = n_trials
        self.n_folds = n_folds
        self.num_boost_round = num_boost_round
        self.early_stopping_rounds = early_stopping_rounds
        self.search_space = dict(search_space)
        self.base_params = dict(base_params or {})
        self.stratify = stratify
        self.n_startup_trials = n_startup_trials
        self.seed = seed
        self.nthread = nthread

    def _storage(self):
        import optuna

        path = Path(self.storage).resolve()
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists():
            # Create the schema in a side file and rename it into place: a process killed while
            # optuna creates its tables would otherwise leave a study file it cannot reopen.
            fresh = path.with_name(path.name + ".creating")
            fresh.unlink(missing_ok=True)
            optuna.storages.RDBStorage(f"sqlite:///{fresh}").engine.dispose()
            fresh.replace(path)
        return optuna.storages.RDBStorage(f"sqlite:///{path}")

    def _sampler(self, n_complete: int):
        import optuna

        # One seed per count of complete trials: the k-th proposal does not depend on whether the
        # study ran in one go, was resumed, or had failed trials in between (TPE is a
        # deterministic function of the complete history and its RNG state).
        seed = int(np.random.SeedSequence([int(self.seed), int(n_complete)]).generate_state(1)[0])
        return optuna.samplers.TPESampler(seed=seed, n_startup_trials=self.n_startup_trials)

    def fit(self, X: np.ndarray, y: np.ndarray) -> XGBTuner:
        """X : (n, d) float, y : (n,) target (0/1 labels for a classifier).

        Learned: study_, best_params_, best_value_, best_num_boost_round_, n_trials_run_ (trials
        run by this call).
        """
        import optuna
        import xgboost as xgb
        from optuna.trial import TrialState

        X = np.asarray(X, dtype=np.float32)
        y = np.asarray(y, dtype=np.float32).reshape(-1)
        if X.ndim != 2 or X.shape[0] != y.size:
            raise ValueError(f"X must be (n, d) and y (n,), got {X.shape} and {y.shape}")
        if self.n_trials < 1:
            raise ValueError(f"n_trials must be >= 1, got {self.n_trials}")
        folds = kfold_indices(
            y.size, self.n_folds, seed=self.seed, labels=y if self.stratify else None
        )
        dtrain = xgb.DMatrix(X, label=y, nthread=self.nthread)
        fixed = {
            **self.base_params,
            "objective": self.objective,
            "eval_metric": self.eval_metric,
            "tree_method": "hist",
            "seed": int(self.seed),
            "nthread": int(self.nthread),
        }
        metric_col = f"test-{self.eval_metric}-mean"

        def objective(trial):
            params = {**suggest_params(trial, self.search_space), **fixed}
            res = xgb.cv(
                params,
                dtrain,
                num_boost_round=int(self.num_boost_round),
                folds=folds,
                early_stopping_rounds=int(self.early_stopping_rounds),
                as_pandas=True,
                verbose_eval=False,
            )
            best = int(np.argmin(res[metric_col].to_numpy()))
            trial.set_user_attr("best_num_boost_round", best + 1)
            trial.set_user_attr("cv_std", float(res[f"test-{self.eval_metric}-std"].iloc[best]))
            trial.set_user_attr(
                "train_metric", float(res[f"train-{self.eval_metric}-mean"].iloc[best])
            )
            return float(res[metric_col].iloc[best])

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        storage = self._storage()
        study = optuna.create_study(
            storage=storage,
            study_name=self.study_name,
            direction="minimize",
            load_if_exists=True,
            sampler=self._sampler(0),
        )
        # A study stored by an earlier, killed process may hold RUNNING trials: close them as FAIL
        # so that they are counted as missing and re-run.
        for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
            study.tell(t.number, state=TrialState.FAIL)
        self.n_trials_run_ = 0
        while True:
            done = len(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)))
            if done >= self.n_trials:
                break
            study.sampler = self._sampler(done)
            study.optimize(
                objective, n_trials=1, n_jobs=1, gc_after_trial=False, show_progress_bar=False
            )
            self.n_trials_run_ += 1
            last = study.get_trials(deepcopy=False)[-1]
            best = study.best_value if done + (last.state == TrialState.COMPLETE) else float("nan")
            log.info(
                "optuna %s: trial %d of %d %s (value %s; best %.5g)",
                self.study_name,
                done + 1,
                self.n_trials,
                last.state.name.lower(),
                last.value,
                best,
            )
            if (
                self.n_trials_run_ > 3 * self.n_trials + 10
            ):  # every trial failing would loop forever
                raise RuntimeError(f"optuna study {self.study_name!r}: too many failed trials")
        self.study_ = study
        best = study.best_trial
        self.best_params_ = dict(best.params)
        self.best_value_ = float(best.value)
        self.best_num_boost_round_ = int(best.user_attrs.get("best_num_boost_round", 0))
        return self


def tune_classifier(
    split, *, storage, study_name: str = "classifier", n_trials: int, X=None, **kwargs
) -> XGBTuner:
    """Tune the in-region classifier (binary:logistic, CV logloss) on ``split.train``.

    The folds are stratified by the label.

    Parameters
    ----------
    split : DataSplit
        The data.
    storage : path
        The study's SQLite file.
    study_name : str
        The study's name.
    n_trials : int
        Total number of complete trials wanted.
    X : (N, k) ndarray, optional
        Model inputs of all of ``split.theta``'s rows (default θ itself).
    **kwargs
        Further :class:`XGBTuner` arguments (eval_metric defaults to logloss).

    Returns
    -------
    XGBTuner
        The fitted tuner (``best_params_``, ``study_``, ...).
    """
    kwargs.setdefault("eval_metric", "logloss")
    X = (split.theta if X is None else X)[split.train]
    y = split.in_region[split.train].astype(np.float32)
    return XGBTuner(
        objective="binary:logistic",
        storage=storage,
        study_name=study_name,
        n_trials=n_trials,
        stratify=True,
        **kwargs,
    ).fit(X, y)


def tune_regressor(
    split,
    *,
    storage,
    study_name: str = "regressor",
    n_trials: int,
    margin: float = 5.0,
    objective: str = "reg:absoluteerror",
    eval_metric: str = "mae",
    target_transform: str = "delta_chi2",
    X=None,
    **kwargs,
) -> XGBTuner:
    """Tune the Δχ² regressor on the training points with Δχ² < threshold + margin.

    Parameters
    ----------
    split : DataSplit
        The data.
    storage : path
        The study's SQLite file.
    study_name : str
        The study's name.
    n_trials : int
        Total number of complete trials wanted.
    margin : float
        Δχ² margin of the regressor's domain above the threshold.
    objective, eval_metric, target_transform : str
        The regressor's settings; the target is transformed before tuning.
    X : (N, k) ndarray, optional
        As for :func:`tune_classifier`.
    **kwargs
        Further :class:`XGBTuner` arguments.

    Returns
    -------
    XGBTuner
        The fitted tuner (``best_params_``, ``study_``, ...).
    """
    from globalfit.surrogate.models import TARGET_TRANSFORMS

    idx = split.train[split.region_mask(margin)[split.train]]
    y = TARGET_TRANSFORMS[target_transform][0](split.delta[idx])
    return XGBTuner(
        objective=objective,
        eval_metric=eval_metric,
        storage=storage,
        study_name=study_name,
        n_trials=n_trials,
        **kwargs,
    ).fit((split.theta if X is None else X)[idx], y)
