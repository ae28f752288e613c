"""Compile XGBoost boosters to native shared libraries with Treelite + TL2cgen, and load them.

Why compile: one batched call of a compiled tree ensemble is several times faster than
``Booster.predict`` and has a much smaller per-call overhead, which is what an MCMC sampler
calling the surrogate millions of times needs (see ``benchmarks/surrogate_speed.py``).

Facts this module relies on (measured, see the pins in ``requirements.lock``):

* TL2cgen 1.0.0 embeds Treelite 4.1.2, which cannot read UBJSON files and loses ``base_score``
  of XGBoost 3.x models; hence XGBoost 2.1.x and conversion through the in-memory booster
  (``Booster.save_raw("json")``), never through a file.
* Treelite 4.1.2 does not know the identity-link objectives ``reg:absoluteerror`` and
  ``reg:quantileerror`` ("Unrecognized XGBoost objective"). Their prediction is the raw margin,
  exactly as for ``reg:squarederror``, so the objective name is rewritten to
  ``reg:squarederror`` in the JSON handed to Treelite (only the output transform depends on it).
  The agreement check below guards this.
* TL2cgen's ``Predictor.predict(DMatrix(X))`` costs ~100 µs per call whatever the batch size
  (a DMatrix, a thread pool dispatch): for emcee's 32-point calls that is most of the time. The
  generated library only exports a one-row ``predict``; :data:`BATCH_SOURCE` adds a C loop over the
  rows of a dense float32 matrix, compiled into the same library, and :class:`CompiledModel` calls
  it with one ``ctypes`` call per batch (same per-row code, so the same numbers).
* The derived inputs (:mod:`globalfit.features`) are compiled too (:func:`compile_features`):
  evaluated with numpy they cost more per 32-point call than the classifier's trees.
* ``dlopen`` caches libraries by path: a process that loaded ``m.so`` and later loads a *new*
  ``m.so`` at the same path silently gets the old one. Give every compiled model a file name
  that depends on its content (:func:`content_name`).
"""

from __future__ import annotations

import ctypes
import hashlib
import json
import subprocess
import tempfile
from pathlib import Path

import numpy as np

__all__ = [
    "BATCH_REQUIRES",
    "BATCH_SOURCE",
    "BATCH_SYMBOL",
    "CompiledFeatures",
    "CompiledModel",
    "XGBoostModel",
    "compare_predictions",
    "compile_booster",
    "compile_features",
    "content_name",
    "features_name",
    "to_treelite",
]

# Objectives whose prediction is the untransformed margin but that Treelite 4.1.2 rejects.
_IDENTITY_OBJECTIVES_UNKNOWN_TO_TREELITE = ("reg:absoluteerror", "reg:quantileerror")


BATCH_SYMBOL = "globalfit_predict_batch"
BATCH_REQUIRES = (
    "#define N_TARGET 1\n",
    "#define MAX_N_CLASS 1\n",
    "void predict(union Entry* data, int pred_margin, float* result);",
)
BATCH_SOURCE = f"""
#include "header.h"

/* globalfit: prediction over the n rows of a dense row-major float32 matrix in one call; NaN
   features are missing values, as in TL2cgen's DMatrix. */
void {BATCH_SYMBOL}(const float* X, int64_t n, float* out) {{
  const int32_t d = get_num_feature();
  union Entry* row = (union Entry*)malloc(sizeof(union Entry) * (size_t)d);
  for (int64_t i = 0; i < n; ++i) {{
    for (int32_t j = 0; j < d; ++j) {{
      const float v = X[i * d + j];
      if (isnan(v)) row[j].missing = -1; else row[j].fvalue = v;
    }}
    out[i] = 0.0f;
    predict(row, 0, &out[i]);
  }}
  free(row);
}}
"""


def content_name(booster, stem: str, length: int = 12) -> str:
    """File name ``{stem}-{hash}.so`` of a booster's library.

    hash = SHA-256 of the booster's UBJSON bytes and :data:`BATCH_SOURCE`: a content-addressed
    name sidesteps the ``dlopen`` path cache (module docstring).

    Parameters
    ----------
    booster : xgboost.Booster
        The model.
    stem, length : str and int
        Name prefix (classifier, regressor) and hex digits of the hash kept.

    Returns
    -------
    str
        The file name.
    """
    # the batch loop's source is part of the library, so it is part of the name
    digest = hashlib.sha256(bytes(booster.save_raw("ubj")) + BATCH_SOURCE.encode()).hexdigest()[
        :length
    ]
    return f"{stem}-{digest}.so"


def to_treelite(booster):
    """An XGBoost ``Booster`` -> ``treelite.Model`` (through JSON; see the module docstring).

    Parameters
    ----------
    booster : xgboost.Booster
        The model.

    Returns
    -------
    treelite.Model
        The converted model.

    Raises
    ------
    ValueError
        For a multi-target model with an identity-link objective unknown to Treelite.
    """
    import treelite

    model = json.loads(bytes(booster.save_raw("json")))
    objective = model["learner"]["objective"]
    if objective["name"] in _IDENTITY_OBJECTIVES_UNKNOWN_TO_TREELITE:
        if int(model["learner"]["learner_model_param"].get("num_target", "1")) != 1:
            raise ValueError(
                f"compilation supports single-target models only ({objective['name']})"
            )
        model["learner"]["objective"] = {
            "name": "reg:squarederror",
            "reg_loss_param": {"scale_pos_weight": "1"},
        }
    return treelite.frontend.from_xgboost_json(json.dumps(model))


def compile_booster(
    booster,
    libpath: Path | str,
    *,
    parallel_comp: int | None = None,
    toolchain: str = "gcc",
    nthread: int = 1,
    verbose: bool = False,
) -> Path:
    """Compile ``booster`` to the shared library ``libpath`` and return its path.

    Parameters
    ----------
    booster : xgboost.Booster
        The model.
    libpath : path
        The library (its directory is created).
    parallel_comp : int, optional
        Number of C translation units (None: one per ~100 trees, at most 16); more units compile
        faster on several cores and keep each file small.
    toolchain, verbose : str and bool
        TL2cgen's compiler and verbosity.
    nthread : int
        Compiler processes run at once (explicit; never taken from the machine).

    Returns
    -------
    Path
        ``libpath``.

    Raises
    ------
    ValueError
        If parallel_comp or nthread is < 1.
    """
    import tl2cgen

    libpath = Path(libpath)
    libpath.parent.mkdir(parents=True, exist_ok=True)
    if parallel_comp is None:
        parallel_comp = int(min(16, max(1, booster.num_boosted_rounds() // 100)))
    if parallel_comp < 1 or nthread < 1:
        raise ValueError(f"parallel_comp ({parallel_comp}) and nthread ({nthread}) must be >= 1")
    model = to_treelite(booster)
    with tempfile.TemporaryDirectory(prefix="globalfit-tl2cgen-") as tmp:
        tl2cgen.generate_c_code(
            model, tmp, params={"parallel_comp": int(parallel_comp)}, verbose=verbose
        )
        header = Path(tmp, "header.h").read_text()
        # the loop assumes one float32 output per row; anything else keeps TL2cgen's predictor only
        if all(line in header for line in BATCH_REQUIRES):
            Path(tmp, "globalfit_batch.c").write_text(BATCH_SOURCE)
            recipe_path = Path(tmp, "recipe.json")
            recipe = json.loads(recipe_path.read_text())
            recipe["sources"].append(
                {"name": "globalfit_batch", "length": BATCH_SOURCE.count("\n")}
            )
            recipe_path.write_text(json.dumps(recipe))
        built = tl2cgen.create_shared(toolchain, tmp, nthread=int(nthread), verbose=verbose)
        Path(built).replace(libpath)
    return libpath


class CompiledModel:
    """A compiled tree ensemble: ``predict(X (n, d)) -> (n,)`` on the model's output scale.

    The output scale is XGBoost's default ``predict`` output: probabilities for
    ``binary:logistic``, the raw value for identity-link regression objectives.
    Features are passed as float32, as XGBoost does, so both backends see the same numbers.
    """

    def __init__(self, libpath: Path | str, *, nthread: int = 1):
        import tl2cgen

        self.libpath = Path(libpath)
        if not self.libpath.is_file():
            raise FileNotFoundError(f"compiled model {self.libpath} does not exist")
        self.nthread = int(nthread)
        self._predictor = tl2cgen.Predictor(str(self.libpath), nthread=self.nthread)
        self.num_feature = int(self._predictor.num_feature)
        self._dmatrix = tl2cgen.DMatrix
        lib = ctypes.CDLL(str(self.libpath))
        # libraries compiled before the batch loop existed fall back to TL2cgen's predictor
        self._batch = getattr(lib, BATCH_SYMBOL, None)
        if self._batch is not None:
            self._batch.argtypes = [ctypes.c_void_p, ctypes.c_int64, ctypes.c_void_p]
            self._batch.restype = None
        self._lib = lib

    def predict(self, X: np.ndarray) -> np.ndarray:
        """X : (n, d) float -> (n,) float64."""
        X = np.ascontiguousarray(X, dtype=np.float32)
        if X.ndim != 2 or X.shape[1] != self.num_feature:
            raise ValueError(f"expected X of shape (n, {self.num_feature}), got {X.shape}")
        if self._batch is None or (self.nthread > 1 and X.shape[0] >= 10_000):
            out = self._predictor.predict(self._dmatrix(X, dtype="float32"))
            return np.asarray(out, dtype=np.float64).reshape(X.shape[0])
        out = np.empty(X.shape[0], dtype=np.float32)
        self._batch(X.ctypes.data, X.shape[0], out.ctypes.data)
        return out.astype(np.float64)

    def __repr__(self) -> str:
        return f"CompiledModel({str(self.libpath)!r}, nthread={self.nthread})"


def features_name(feature_map, length: int = 12) -> str:
    """File name ``features-{hash}.so`` of a feature map's library, hash = SHA-256 of its C source.

    Parameters
    ----------
    feature_map : FeatureMap
        The derived features.
    length : int
        Hex digits of the hash kept.

    Returns
    -------
    str
        The file name.
    """
    return f"features-{hashlib.sha256(feature_map.c_source().encode()).hexdigest()[:length]}.so"


def compile_features(feature_map, libpath: Path | str, *, toolchain: str = "gcc") -> Path:
    """Compile :meth:`globalfit.features.FeatureMap.c_source` to the shared library ``libpath``.

    The toolchain is TL2cgen's (a C compiler is needed for the models anyway). No floating-point
    contraction, so each operation rounds as numpy's does.

    Parameters
    ----------
    feature_map : FeatureMap
        The derived features.
    libpath : path
        The library (its directory is created).
    toolchain : str
        The C compiler.

    Returns
    -------
    Path
        ``libpath``.

    Raises
    ------
    RuntimeError
        If the compiler fails.
    """
    libpath = Path(libpath)
    libpath.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="globalfit-features-") as tmp:
        src = Path(tmp, "features.c")
        src.write_text(feature_map.c_source())
        out = Path(tmp, libpath.name)
        cmd = [
            toolchain,
            "-shared",
            "-fPIC",
            "-O2",
            "-std=c99",
            "-ffp-contract=off",
            "-o",
            str(out),
            str(src),
            "-lm",
        ]
        done = subprocess.run(cmd, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(
                f"compiling the derived features failed ({' '.join(cmd)}):\n{done.stderr}"
            )
        out.replace(libpath)
    return libpath


class CompiledFeatures:
    """``__call__(theta (n, d) float64) -> (n, d + k) float32``: the model inputs of a
    :class:`~globalfit.features.FeatureMap`, computed by its compiled library (one ctypes call)."""

    def __init__(self, libpath: Path | str, n_parameters: int, n_inputs: int):
        from globalfit.features import C_SYMBOL

        self.libpath = Path(libpath)
        if not self.libpath.is_file():
            raise FileNotFoundError(f"compiled features {self.libpath} do not exist")
        self.n_parameters, self.n_inputs = int(n_parameters), int(n_inputs)
        self._lib = ctypes.CDLL(str(self.libpath))
        self._fn = getattr(self._lib, C_SYMBOL)
        self._fn.argtypes = [ctypes.c_void_p, ctypes.c_int64, ctypes.c_void_p]
        self._fn.restype = None

    def __call__(self, theta: np.ndarray) -> np.ndarray:
        theta = np.ascontiguousarray(theta, dtype=np.float64)
        if theta.ndim != 2 or theta.shape[1] != self.n_parameters:
            raise ValueError(f"expected theta of shape (n, {self.n_parameters}), got {theta.shape}")
        X = np.empty((theta.shape[0], self.n_inputs), dtype=np.float32)
        self._fn(theta.ctypes.data, theta.shape[0], X.ctypes.data)
        return X

    def __repr__(self) -> str:
        return f"CompiledFeatures({str(self.libpath)!r})"


class XGBoostModel:
    """The same interface over an in-memory ``xgboost.Booster`` (the reference backend)."""

    def __init__(self, booster, *, nthread: int = 1):
        self.booster = booster
        self.nthread = int(nthread)
        booster.set_param({"nthread": self.nthread})
        self.num_feature = int(booster.num_features())

    def predict(self, X: np.ndarray) -> np.ndarray:
        """X : (n, d) float -> (n,) float64."""
        X = np.ascontiguousarray(X, dtype=np.float32)
        if X.ndim != 2 or X.shape[1] != self.num_feature:
            raise ValueError(f"expected X of shape (n, {self.num_feature}), got {X.shape}")
        # inplace_predict skips building a DMatrix (most of the cost of small calls); its output
        # is bit-identical to predict(DMatrix(X)).
        out = self.booster.inplace_predict(X)
        return np.asarray(out, dtype=np.float64).reshape(X.shape[0])

    def __repr__(self) -> str:
        return f"XGBoostModel(<{self.booster.num_boosted_rounds()} rounds>, nthread={self.nthread})"


def compare_predictions(
    reference, candidate, X: np.ndarray, *, atol: float = 1e-4, rtol: float = 1e-5
) -> dict:
    """Compare two backends; agreement means |a − b| <= atol + rtol·|a| everywhere.

    Parameters
    ----------
    reference, candidate
        Models with ``predict(X)`` (a is the reference's output, b the candidate's).
    X : (n, d) ndarray
        Model inputs.
    atol, rtol : float
        Tolerances.

    Returns
    -------
    dict
        {"n", "max_abs_diff", "max_rel_diff", "agree"}; the scale is the models' own output.
    """
    a = reference.predict(X)
    b = candidate.predict(X)
    diff = np.abs(a - b)
    rel = diff / np.maximum(np.abs(a), np.finfo(np.float64).tiny)
    return {
        "n": int(a.size),
        "max_abs_diff": float(diff.max(initial=0.0)),
        "max_rel_diff": float(rel.max(initial=0.0)),
        "agree": bool(np.all(diff <= atol + rtol * np.abs(a))),
    }
