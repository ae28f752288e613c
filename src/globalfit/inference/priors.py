"""Priors on the parameters and the log-posterior used by the sampler.

Three prior shapes, chosen per parameter in the config's ``parameters`` list::

    - {name: cqL33, lower: -3, upper: 3, prior: {type: soft_uniform, width: 0.05}}
    - {name: cuR,   lower: -3, upper: 3, prior: {type: uniform}}
    - {name: log10_fa, lower: 6, upper: 8, prior: {type: gaussian, mean: 7.0, sd: 0.5}}

``soft_uniform`` (a, b = wall positions, w = width)
    log p(θ) = −log(1 + e^{(a−θ)/w}) − log(1 + e^{(θ−b)/w})
    (evaluated with ``np.logaddexp`` so that it never overflows). The walls sit at the box edges
    by default (a = lower, b = upper): the prior is flat inside (≥ 95 % of its plateau value
    farther than 3w from an edge), falls to ½ at the edge itself, and the box cut below makes it
    −inf beyond. Walls may be moved inside the box with ``prior: {lower: .., upper: ..}`` (an
    extension the config schema does not expose yet). Default width ``DEFAULT_SOFT_WIDTH`` = 0.05
    (parameter units; the config schema's default). This is also the prior of a parameter without
    a ``prior`` block, or whose block has no ``type`` (as in the schema).
``uniform``
    log p = 0 inside the box (or inside a narrower ``prior: {lower, upper}``), −inf outside.
``gaussian``
    log p = −½((θ − mean)/sd)², always truncated to the box (and to a narrower
    ``prior: {lower, upper}`` if given).

The surrogate is trusted only inside its training box, so **every** prior is −inf outside the
parameter box, whatever its shape. Additive constants are dropped (each parameter's log-density is
the formula above, unnormalised): neither the MCMC nor any ratio of posteriors depends on them.

Workflow default (the tutorial's ALP fit, ``DEFAULT_ALP_PRIORS``, as in config/config.yaml): the
five couplings soft-uniform on [−3, 3] with width 0.05 (flat to within 5 % up to 0.15 from the
edges), log10 fa Gaussian with mean 7 and sd 0.5 truncated to [6, 8] (the box edges are 2 sd
away, so the prior favours the middle of the decade range without cutting much).

Examples
--------
A hard uniform prior on x ∈ [−1, 1] and the default soft-uniform one on y ∈ [−3, 3]: zero
inside, log ½ on a soft wall, −inf outside the box:

>>> import numpy as np
>>> prior = Prior.from_config(
...     [
...         {"name": "x", "lower": -1, "upper": 1, "prior": {"type": "uniform"}},
...         {"name": "y", "lower": -3, "upper": 3},
...     ]
... )
>>> prior.describe()["y"]
'soft-uniform on [-3, 3], wall width 0.05'
>>> lp = prior.log_prior(np.array([[0.0, 0.0], [0.5, 3.0], [1.5, 0.0]]))
>>> print(lp.round(4) + 0.0)
[ 0.     -0.6931    -inf]
>>> bool(np.isclose(lp[1], np.log(0.5)))
True
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np

from globalfit.space import ParameterSpace

__all__ = [
    "DEFAULT_ALP_PRIORS",
    "DEFAULT_SOFT_WIDTH",
    "LogPosterior",
    "PRIOR_TYPES",
    "ParameterPrior",
    "Prior",
]

DEFAULT_SOFT_WIDTH = 0.05
PRIOR_TYPES = ("soft_uniform", "uniform", "gaussian")

#: Per-parameter prior blocks of the default ALP workflow config (by parameter name).
DEFAULT_ALP_PRIORS = {
    **{
        n: {"type": "soft_uniform", "width": DEFAULT_SOFT_WIDTH}
        for n in ("cqL33", "cuR", "cdR", "clL33", "ceR")
    },
    "log10_fa": {"type": "gaussian", "mean": 7.0, "sd": 0.5},
}


@dataclass(frozen=True)
class ParameterPrior:
    """One parameter's prior. ``lower``/``upper`` are the wall positions (soft_uniform) or the
    support (uniform, gaussian truncation); the box cut is applied separately by :class:`Prior`."""

    name: str
    type: str
    lower: float
    upper: float
    width: float | None = None  # soft_uniform
    mean: float | None = None  # gaussian
    sd: float | None = None  # gaussian

    def log_density(self, x: np.ndarray) -> np.ndarray:
        """x : (n,) values of this parameter -> (n,) unnormalised log-density (−inf off support).

        Examples
        --------
        >>> g = ParameterPrior("log10_fa", "gaussian", 6.0, 8.0, mean=7.0, sd=0.5)
        >>> print(g.log_density([7.0, 8.0, 8.5]) + 0.0)
        [  0.  -2. -inf]
        """
        x = np.asarray(x, dtype=np.float64)
        if self.type == "soft_uniform":
            w = self.width
            with np.errstate(invalid="ignore"):  # NaN in, NaN out (the box cut makes it −inf)
                return -np.logaddexp(0.0, (self.lower - x) / w) - np.logaddexp(
                    0.0, (x - self.upper) / w
                )
        inside = (x >= self.lower) & (x <= self.upper)
        if self.type == "uniform":
            return np.where(inside, 0.0, -np.inf)
        if self.type == "gaussian":
            z = (x - self.mean) / self.sd
            return np.where(inside, -0.5 * z * z, -np.inf)
        raise AssertionError(self.type)

    def describe(self) -> str:
        if self.type == "soft_uniform":
            return f"soft-uniform on [{self.lower:g}, {self.upper:g}], wall width {self.width:g}"
        if self.type == "uniform":
            return f"uniform on [{self.lower:g}, {self.upper:g}]"
        return (
            f"Gaussian(mean {self.mean:g}, sd {self.sd:g}) "
            f"truncated to [{self.lower:g}, {self.upper:g}]"
        )


def _parameter_prior(p: Mapping, lo: float, hi: float) -> ParameterPrior:
    name = p["name"]
    spec = dict(p.get("prior") or {})
    kind = spec.pop("type", "soft_uniform")
    where = f"parameters[{name!r}].prior"
    if kind not in PRIOR_TYPES:
        raise ValueError(f"{where}: type must be one of {PRIOR_TYPES}, got {kind!r}")
    # Keys of other prior types are accepted and ignored: Snakemake's schema validation fills in
    # defaults (e.g. width) for every key of the prior block, whatever its type.
    allowed = {"width", "mean", "sd", "lower", "upper"}
    unknown = set(spec) - allowed
    if unknown:
        raise ValueError(
            f"{where}: unknown key(s) {sorted(unknown)}; "
            f"allowed: type, {', '.join(sorted(allowed))}"
        )
    a = float(spec.get("lower", lo))
    b = float(spec.get("upper", hi))
    if not (lo <= a < b <= hi):
        raise ValueError(
            f"{where}: prior bounds [{a}, {b}] must satisfy {lo} <= lower < upper <= {hi} (the box)"
        )
    if kind == "soft_uniform":
        w = float(spec.get("width", DEFAULT_SOFT_WIDTH))
        if not (np.isfinite(w) and w > 0):
            raise ValueError(f"{where}: width must be a positive number, got {w}")
        return ParameterPrior(name, kind, a, b, width=w)
    if kind == "uniform":
        return ParameterPrior(name, kind, a, b)
    if "mean" not in spec or "sd" not in spec:
        raise ValueError(f"{where}: a gaussian prior needs 'mean' and 'sd'")
    mean, sd = float(spec["mean"]), float(spec["sd"])
    if not (np.isfinite(mean) and np.isfinite(sd) and sd > 0):
        raise ValueError(f"{where}: need finite mean and sd > 0, got mean={mean}, sd={sd}")
    return ParameterPrior(name, kind, a, b, mean=mean, sd=sd)


@dataclass(frozen=True)
class Prior:
    """Product prior over the parameter box. ``log_prior(theta (n, d)) -> (n,)``."""

    space: ParameterSpace
    parameters: tuple[ParameterPrior, ...] = field(default=())

    def __post_init__(self):
        if not self.parameters:
            object.__setattr__(
                self,
                "parameters",
                tuple(
                    ParameterPrior(n, "uniform", lo, hi)
                    for n, lo, hi in zip(
                        self.space.names, self.space.lower, self.space.upper, strict=True
                    )
                ),
            )
        if tuple(p.name for p in self.parameters) != self.space.names:
            raise ValueError(
                f"prior parameter names {[p.name for p in self.parameters]} "
                f"!= space names {self.space.names}"
            )
        # grouped arrays so that log_prior is a handful of vectorised operations
        ps = self.parameters
        soft = np.array([i for i, p in enumerate(ps) if p.type == "soft_uniform"], dtype=int)
        gauss = np.array([i for i, p in enumerate(ps) if p.type == "gaussian"], dtype=int)
        lo = self.space.lower.copy()
        hi = self.space.upper.copy()
        for i, p in enumerate(ps):
            if p.type != "soft_uniform":  # support = the prior's own [lower, upper] (in the box)
                lo[i], hi[i] = p.lower, p.upper
        g = {
            "soft": soft,
            "soft_a": np.array([ps[i].lower for i in soft]),
            "soft_b": np.array([ps[i].upper for i in soft]),
            "soft_w": np.array([ps[i].width for i in soft]),
            "gauss": gauss,
            "mean": np.array([ps[i].mean for i in gauss]),
            "sd": np.array([ps[i].sd for i in gauss]),
            "lo": lo,
            "hi": hi,
        }
        object.__setattr__(self, "_g", g)

    @classmethod
    def from_config(
        cls, parameters: Iterable[Mapping], space: ParameterSpace | None = None
    ) -> Prior:
        """parameters : the config's list of {name, lower, upper, prior: {type, ...}}.

        A parameter without a ``prior`` block (or without ``type``) gets the schema default:
        soft-uniform on its box with width ``DEFAULT_SOFT_WIDTH``. ``Prior(space)`` without
        parameters is a hard uniform prior on the box.
        """
        parameters = list(parameters)
        if space is None:
            space = ParameterSpace.from_config(parameters)
        by_name = {p["name"]: p for p in parameters}
        missing = [n for n in space.names if n not in by_name]
        if missing:
            raise ValueError(f"prior config: no entry for parameter(s) {missing}")
        pri = tuple(
            _parameter_prior(by_name[n], float(lo), float(hi))
            for n, lo, hi in zip(space.names, space.lower, space.upper, strict=True)
        )
        return cls(space, pri)

    @property
    def names(self) -> tuple[str, ...]:
        return self.space.names

    def log_prior(self, theta: np.ndarray) -> np.ndarray:
        """theta : (n, d) -> (n,) log prior; −inf outside the box (the surrogate's trust region)."""
        theta = np.atleast_2d(np.asarray(theta, dtype=np.float64))
        if theta.ndim != 2 or theta.shape[1] != self.space.dim:
            raise ValueError(f"log_prior: expected shape (n, {self.space.dim}), got {theta.shape}")
        g = self._g
        inside = np.all((theta >= g["lo"]) & (theta <= g["hi"]), axis=1)  # False for NaN
        out = np.zeros(theta.shape[0])
        with np.errstate(all="ignore"):  # outside the box (masked below) anything goes
            if g["soft"].size:
                z = theta[:, g["soft"]]
                x = np.concatenate(
                    ((g["soft_a"] - z) / g["soft_w"], (z - g["soft_b"]) / g["soft_w"]), axis=1
                )
                # log(1 + e^x) without overflow; cheaper than np.logaddexp on emcee's small batches
                out -= (np.maximum(x, 0.0) + np.log1p(np.exp(-np.abs(x)))).sum(axis=1)
            if g["gauss"].size:
                z = (theta[:, g["gauss"]] - g["mean"]) / g["sd"]
                out -= 0.5 * (z * z).sum(axis=1)
        return np.where(inside, out, -np.inf)

    __call__ = log_prior

    def describe(self) -> dict[str, str]:
        """{name: one-line description} for logs and the report."""
        return {p.name: p.describe() for p in self.parameters}


class LogPosterior:
    """log p(θ | data) = −χ²(θ)/2 + log prior(θ), vectorised for emcee's ``vectorize=True``.

    chi2_fn : callable (m, d) -> (m,), called once per batch and only on points inside the box
    with a finite prior. χ² = +inf gives −inf (zero posterior). Invalid χ² values (NaN or −inf,
    e.g. from a broken surrogate) also give −inf and are counted in ``n_invalid``, which the
    sampler reports (never silently dropped).
    """

    def __init__(self, chi2_fn: Callable[[np.ndarray], np.ndarray], prior: Prior):
        self.chi2_fn = chi2_fn
        self.prior = prior
        self.n_calls = 0
        self.n_points = 0
        self.n_invalid = 0

    def __call__(self, theta: np.ndarray) -> np.ndarray:
        theta = np.atleast_2d(np.asarray(theta, dtype=np.float64))
        lp = self.prior.log_prior(theta)
        ok = np.isfinite(lp)
        out = np.full(theta.shape[0], -np.inf)
        if ok.any():
            chi2 = np.asarray(self.chi2_fn(theta[ok]), dtype=np.float64).reshape(-1)
            if chi2.shape[0] != int(ok.sum()):
                raise ValueError(
                    f"chi2_fn returned {chi2.shape[0]} values for {int(ok.sum())} points"
                )
            self.n_calls += 1
            self.n_points += chi2.shape[0]
            bad = np.isnan(chi2) | (chi2 == -np.inf)
            self.n_invalid += int(bad.sum())
            out[ok] = np.where(bad, -np.inf, -0.5 * chi2 + lp[ok])
        return out
