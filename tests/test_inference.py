"""Priors, emcee sampling, frequentist statistics, reweighting validation and inference plots,
checked against closed-form answers (correlated Gaussian, known minima, textbook p-values)."""

from __future__ import annotations

import logging
import os

import h5py
import numpy as np
import pytest

from globalfit.inference import (
    DEFAULT_ALP_PRIORS,
    LogPosterior,
    Prior,
    SamplingResult,
    best_fit,
    finalize_chain,
    importance_weights,
    initial_ball,
    posterior_summary,
    profile_1d,
    profile_2d,
    reweighted_posterior,
    reweighting_metrics,
    sample_posterior,
    significance_table,
)
from globalfit.oracles.analytic import AnalyticFunction, gaussian_covariance
from globalfit.space import ParameterSpace

SIGMA_U, RHO = 0.05, 0.8  # unit-cube sd and correlation of the analytic Gaussian


def box(d, lo=-3.0, hi=3.0):
    return ParameterSpace(tuple(f"x{i}" for i in range(d)), np.full(d, lo), np.full(d, hi))


@pytest.fixture(scope="module")
def gauss3():
    """Correlated Gaussian χ² in a [−3, 3]³ box: mean 0, Σ = 36 · gaussian_covariance (10 σ to
    every edge, so the box cut does not matter)."""
    space = box(3)
    fn = AnalyticFunction(
        "gaussian", space, {"center": 0.5, "sigma": SIGMA_U, "rho": RHO, "chi2_min": 0.0}
    )
    cov = gaussian_covariance(3, SIGMA_U, RHO) * space.width[0] ** 2
    return space, fn, cov


# ---------------------------------------------------------------------------------------- priors


def test_soft_uniform_prior_matches_formula():
    space = box(1, -3.0, 3.0)
    prior = Prior.from_config(
        [{"name": "x0", "lower": -3, "upper": 3, "prior": {"type": "soft_uniform", "width": 0.2}}],
        space,
    )
    x = np.array([-3.0, -2.9, -2.0, 0.0, 2.5, 3.0])
    a, b, w = -3.0, 3.0, 0.2
    expected = -np.log1p(np.exp((a - x) / w)) - np.log1p(np.exp((x - b) / w))
    np.testing.assert_allclose(prior.log_prior(x[:, None]), expected, rtol=1e-12, atol=1e-14)
    # at the box edge the prior is ½ of its plateau, beyond the box it is −inf
    assert prior.log_prior([[3.0]])[0] == pytest.approx(np.log(0.5), abs=1e-6)
    assert np.all(prior.log_prior([[-3.0001], [3.0001], [np.nan]]) == -np.inf)
    # no overflow far from the walls (the formula is evaluated with logaddexp)
    tiny = Prior.from_config(
        [{"name": "x0", "lower": -3, "upper": 3, "prior": {"type": "soft_uniform", "width": 1e-4}}],
        space,
    )
    assert np.all(np.isfinite(tiny.log_prior([[0.0], [-2.9999], [2.99]])))


def test_gaussian_and_uniform_priors_and_box_cut():
    params = [
        {"name": "c", "lower": -3, "upper": 3, "prior": {"type": "uniform"}},
        {
            "name": "f",
            "lower": 6,
            "upper": 8,
            "prior": {"type": "gaussian", "mean": 7.0, "sd": 0.5},
        },
        {
            "name": "g",
            "lower": 0,
            "upper": 1,
        },  # no prior block: the schema default, soft walls of width 0.05
    ]
    prior = Prior.from_config(params)
    th = np.array([[0.0, 7.0, 0.5], [2.9, 7.5, 0.0], [1.0, 6.2, 1.0]])
    g = th[:, 2]
    soft = -np.log1p(np.exp((0 - g) / 0.05)) - np.log1p(np.exp((g - 1) / 0.05))
    expected = -0.5 * ((th[:, 1] - 7.0) / 0.5) ** 2 + soft
    np.testing.assert_allclose(prior.log_prior(th), expected, rtol=1e-12)
    outside = np.array([[3.1, 7.0, 0.5], [0.0, 5.99, 0.5], [0.0, 8.01, 0.5], [0.0, 7.0, -0.01]])
    assert np.all(prior.log_prior(outside) == -np.inf)
    # a uniform prior narrower than the box
    narrow = Prior.from_config(
        [
            {
                "name": "c",
                "lower": -3,
                "upper": 3,
                "prior": {"type": "uniform", "lower": -1, "upper": 1},
            }
        ]
    )
    np.testing.assert_array_equal(narrow.log_prior([[0.0], [1.5]]), [0.0, -np.inf])


def test_prior_config_errors_and_default():
    with pytest.raises(ValueError, match="type must be one of"):
        Prior.from_config([{"name": "a", "lower": 0, "upper": 1, "prior": {"type": "cauchy"}}])
    with pytest.raises(ValueError, match="needs 'mean' and 'sd'"):
        Prior.from_config(
            [{"name": "a", "lower": 0, "upper": 1, "prior": {"type": "gaussian", "mean": 0.5}}]
        )
    with pytest.raises(ValueError, match="unknown key"):
        Prior.from_config(
            [{"name": "a", "lower": 0, "upper": 1, "prior": {"type": "uniform", "scale": 1}}]
        )
    # keys of other types (filled in as schema defaults) are ignored
    g = Prior.from_config(
        [
            {
                "name": "a",
                "lower": 0,
                "upper": 1,
                "prior": {"type": "gaussian", "mean": 0.5, "sd": 0.1, "width": 0.05},
            }
        ]
    )
    assert g.log_prior([[0.6]])[0] == pytest.approx(-0.5)
    with pytest.raises(ValueError, match="width must be"):
        Prior.from_config(
            [{"name": "a", "lower": 0, "upper": 1, "prior": {"type": "soft_uniform", "width": 0}}]
        )
    # the workflow default for the ALP fit
    names = ["cqL33", "cuR", "cdR", "clL33", "ceR", "log10_fa"]
    params = [
        {
            "name": n,
            "lower": 6 if n == "log10_fa" else -3,
            "upper": 8 if n == "log10_fa" else 3,
            "prior": DEFAULT_ALP_PRIORS[n],
        }
        for n in names
    ]
    prior = Prior.from_config(params)
    lp = prior.log_prior([[0, 0, 0, 0, 0, 7.0], [0, 0, 0, 0, 0, 8.0], [0, 0, 0, 0, 3.5, 7.0]])
    assert lp[0] == pytest.approx(0.0, abs=1e-10)  # plateau and Gaussian peak
    assert lp[1] == pytest.approx(-0.5 * 4.0, abs=1e-10)  # 2 sd at the upper box edge
    assert lp[2] == -np.inf


def test_log_posterior_counts_invalid_chi2():
    space = box(2)

    def chi2(th):
        out = np.sum(th**2, axis=1)
        out[th[:, 0] > 2] = np.nan
        return out

    post = LogPosterior(chi2, Prior(space))
    lp = post(np.array([[1.0, 0.0], [2.5, 0.0], [3.5, 0.0]]))
    np.testing.assert_allclose(lp[:1], [-0.5])
    assert lp[1] == -np.inf and lp[2] == -np.inf
    assert post.n_invalid == 1 and post.n_points == 2  # the out-of-box point never reaches chi2


# ---------------------------------------------------------------------------------------- sampling


def test_gaussian_posterior_mean_and_covariance(gauss3):
    space, fn, cov = gauss3
    res = sample_posterior(
        fn.chi2, Prior(space), np.full((1, 3), 0.1), n_walkers=32, n_steps=5000, seed=1
    )
    assert res.converged, res.notes
    s = res.samples
    sd = np.sqrt(np.diag(cov))
    np.testing.assert_array_less(np.abs(s.mean(axis=0)) / sd, 0.05)
    np.testing.assert_allclose(np.var(s, axis=0), np.diag(cov), rtol=0.10)
    corr = np.corrcoef(s.T)
    np.testing.assert_allclose(corr[np.triu_indices(3, 1)], RHO, atol=0.03)
    assert res.burn >= 3 * np.max(res.tau) and res.thin == max(1, int(0.5 * np.min(res.tau)))
    assert np.all(res.ess > 1000)
    assert 0.2 < np.mean(res.acceptance) < 0.9
    summ = res.summary(derived={"x0+x1": s[:, 0] + s[:, 1]})
    assert summ["diagnostics"]["converged"] is True
    q = summ["parameters"]["x0"]
    assert q["q16"] < q["q50"] < q["q84"] and q["sd"] == pytest.approx(sd[0], rel=0.05)
    var_sum = cov[0, 0] + cov[1, 1] + 2 * cov[0, 1]
    assert summ["derived"]["x0+x1"]["sd"] == pytest.approx(np.sqrt(var_sum), rel=0.05)


def test_same_seed_same_chain(gauss3):
    space, fn, _ = gauss3
    kw = dict(n_walkers=12, n_steps=60, progress_every=0)
    a = sample_posterior(fn.chi2, Prior(space), np.zeros((2, 3)) + [[0.1], [-0.1]], seed=5, **kw)
    b = sample_posterior(fn.chi2, Prior(space), np.zeros((2, 3)) + [[0.1], [-0.1]], seed=5, **kw)
    c = sample_posterior(fn.chi2, Prior(space), np.zeros((2, 3)) + [[0.1], [-0.1]], seed=6, **kw)
    np.testing.assert_array_equal(a.chain, b.chain)
    np.testing.assert_array_equal(a.log_prob, b.log_prob)
    assert not np.array_equal(a.chain, c.chain)


def test_vectorized_moves_and_sampler_give_emcee_s_chains_bit_for_bit():
    from emcee_identity import mismatches

    assert mismatches() == []


# OpenBLAS kernels and the CPU flags each needs (/proc/cpuinfo); each picks its own dot-product
# rounding (FMA, SIMD width, alignment peeling), which the snooker proposal must follow.
OPENBLAS_KERNELS = {
    "Prescott": {"pni"},
    "Core2": {"ssse3"},
    "Barcelona": {"sse4a"},
    "Nehalem": {"sse4_2"},
    "Sandybridge": {"avx"},
    "Haswell": {"avx2", "fma"},
    "SkylakeX": {"avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl"},
    "Cooperlake": {"avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl", "avx512_bf16"},
}


def test_emcee_identity_holds_under_other_cpus_kernels():
    """The same check in child processes that run the other OpenBLAS kernels this CPU can
    execute, and with numpy's AVX-512 and AVX2 loops switched off: the arithmetic of older and
    newer x86 CPUs on one machine (the row-sum version of the snooker proposal passed on
    Haswell kernels and failed on AVX-512 ones)."""
    import json
    import subprocess
    import sys
    from pathlib import Path

    try:
        from numpy._core._multiarray_umath import __cpu_features__
    except ImportError:  # numpy < 2
        from numpy.core._multiarray_umath import __cpu_features__
    from emcee_identity import blas_architecture

    cpuinfo = Path("/proc/cpuinfo")
    flags = set()
    if cpuinfo.exists():
        line = next((ln for ln in cpuinfo.read_text().splitlines() if ln.startswith("flags")), "")
        flags = set(line.partition(":")[2].split())
    variants = [
        {
            "NPY_DISABLE_CPU_FEATURES": " ".join(
                f
                for f in (
                    "AVX512F",
                    "AVX512CD",
                    "AVX512_SKX",
                    "AVX512_CLX",
                    "AVX512_CNL",
                    "AVX512_ICL",
                    "AVX2",
                    "FMA3",
                )
                if __cpu_features__.get(f)
            )
        }
    ]
    if (
        blas_architecture() is not None
    ):  # OpenBLAS built with DYNAMIC_ARCH honours OPENBLAS_CORETYPE
        variants += [
            {"OPENBLAS_CORETYPE": k} for k, need in OPENBLAS_KERNELS.items() if need <= flags
        ]
    script = Path(__file__).with_name("emcee_identity.py")
    seen = []
    for extra in variants:
        proc = subprocess.run(
            [sys.executable, str(script)],
            capture_output=True,
            text=True,
            timeout=300,
            env={**os.environ, **extra},
        )
        assert proc.returncode == 0, (extra, proc.stderr[-3000:])
        out = json.loads(proc.stdout.strip().splitlines()[-1])
        assert out["mismatches"] == [], (extra, out)
        seen.append(out["architecture"])
    if blas_architecture() is not None and flags:
        assert "Prescott" in seen or "Nehalem" in seen  # the kernels were switched, not ignored


def test_sampler_rejects_wrong_log_prob_shape():
    from globalfit.inference.sampler import _EnsembleSampler

    sampler = _EnsembleSampler(8, 2, lambda x: np.zeros((x.shape[0], 2)), vectorize=True)
    with pytest.raises(ValueError, match="shape"):
        sampler.compute_log_prob(np.zeros((4, 2)))
    sampler = _EnsembleSampler(8, 2, lambda x: np.full(x.shape[0], np.nan), vectorize=True)
    with pytest.raises(ValueError, match="NaN"):
        sampler.compute_log_prob(np.zeros((4, 2)))


def test_interrupted_run_resumes_to_identical_chain(gauss3, tmp_path, caplog):
    space, fn, _ = gauss3
    prior = Prior(space)
    starts = np.full((1, 3), 0.05)
    kw = dict(n_walkers=12, seed=11, progress_every=0)
    full = sample_posterior(
        fn.chi2, prior, starts, n_steps=100, backend_path=tmp_path / "full.h5", **kw
    )

    # 1) a run stopped cleanly after k steps, then called again with n_steps
    part = tmp_path / "part.h5"
    sample_posterior(fn.chi2, prior, starts, n_steps=37, backend_path=part, **kw)
    resumed = sample_posterior(fn.chi2, prior, starts, n_steps=100, backend_path=part, **kw)
    assert resumed.resumed_from == 37 and resumed.n_steps == 100
    with h5py.File(part, "r") as f:
        assert f["mcmc"].attrs["iteration"] == 100
    np.testing.assert_array_equal(resumed.chain, full.chain)
    np.testing.assert_array_equal(resumed.acceptance, full.acceptance)

    # 2) a run that crashes mid-way (the χ² raises), then is restarted
    calls = {"n": 0}

    def flaky(th):
        calls["n"] += 1
        if calls["n"] > 90:  # 2 calls per step: dies in step ~45
            raise KeyboardInterrupt("killed")
        return fn.chi2(th)

    crash = tmp_path / "crash.h5"
    with pytest.raises(KeyboardInterrupt):
        sample_posterior(flaky, prior, starts, n_steps=100, backend_path=crash, **kw)
    with h5py.File(crash, "r") as f:
        k = int(f["mcmc"].attrs["iteration"])
    assert 0 < k < 100
    again = sample_posterior(fn.chi2, prior, starts, n_steps=100, backend_path=crash, **kw)
    assert again.resumed_from == k and again.n_steps == 100
    np.testing.assert_array_equal(again.chain, full.chain)

    # 3) a finished backend is not extended, a different run's backend is set aside
    done = sample_posterior(fn.chi2, prior, starts, n_steps=100, backend_path=crash, **kw)
    assert done.resumed_from == 100
    with caplog.at_level(logging.WARNING, logger="globalfit.inference"):
        other = sample_posterior(
            fn.chi2, prior, starts, n_steps=50, backend_path=crash, **{**kw, "seed": 12}
        )
    assert other.resumed_from == 0 and (tmp_path / "crash.h5.stale").exists()
    assert "different run" in caplog.text

    # 4) the copy for the workflow output, and re-analysis from the file
    out = finalize_chain(part, tmp_path / "results" / "inference" / "chain.h5")
    again = SamplingResult.from_backend(out)
    assert again.names == space.names and again.seed == 11
    np.testing.assert_array_equal(again.chain, full.chain)


CHILD = """
import logging, sys, time
import numpy as np
from globalfit.oracles.analytic import AnalyticFunction
from globalfit.inference import Prior, sample_posterior
from globalfit.space import ParameterSpace
logging.basicConfig(level=logging.INFO, stream=sys.stderr)
space = ParameterSpace(("x0", "x1", "x2"), np.full(3, -3.0), np.full(3, 3.0))
fn = AnalyticFunction("gaussian", space, {"center": 0.5, "sigma": %r, "rho": %r, "chi2_min": 0.0})
def slow(th):
    time.sleep(0.002)
    return fn.chi2(th)
sample_posterior(slow, Prior(space), np.full((1, 3), 0.05), n_walkers=12, n_steps=1500, seed=11,
                 backend_path=sys.argv[1], progress_every=0.02, flush_seconds=0.1)
""" % (SIGMA_U, RHO)  # noqa: UP031 (the script holds dict braces)


def test_sigterm_killed_process_resumes(gauss3, tmp_path):
    import signal
    import subprocess
    import sys

    space, fn, _ = gauss3
    path = tmp_path / "chain.h5"
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(path)], stderr=subprocess.PIPE, text=True
    )
    try:
        seen = 0
        for line in proc.stderr:  # wait for a few progress lines, then kill
            seen += "emcee: step" in line
            if seen >= 2:
                proc.send_signal(signal.SIGTERM)
                break
        rest = proc.stderr.read()
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 128 + signal.SIGTERM, rest[-2000:]
    assert "rerun to resume" in rest
    with h5py.File(path, "r") as f:
        k = int(f["mcmc"].attrs["iteration"])
    assert 0 < k < 1500
    kw = dict(n_walkers=12, n_steps=1500, seed=11, progress_every=0)
    resumed = sample_posterior(
        fn.chi2, Prior(space), np.full((1, 3), 0.05), backend_path=path, **kw
    )
    assert resumed.resumed_from == k and resumed.n_steps == 1500
    full = sample_posterior(fn.chi2, Prior(space), np.full((1, 3), 0.05), **kw)
    np.testing.assert_array_equal(resumed.chain, full.chain)


def test_unconverged_chain_is_flagged(gauss3, caplog):
    space, fn, _ = gauss3
    with caplog.at_level(logging.WARNING, logger="globalfit.inference"):
        res = sample_posterior(
            fn.chi2, Prior(space), np.zeros((1, 3)), n_walkers=12, n_steps=80, seed=0
        )
    assert not res.converged
    assert any("NOT CONVERGED" in n for n in res.notes) and "NOT CONVERGED" in caplog.text
    assert res.diagnostics()["converged"] is False
    from globalfit.inference import NotConvergedError

    with pytest.raises(NotConvergedError):
        sample_posterior(
            fn.chi2,
            Prior(space),
            np.zeros((1, 3)),
            n_walkers=12,
            n_steps=80,
            seed=0,
            on_unconverged="raise",
        )


def test_initial_ball_stays_inside_box():
    space = box(2, 0.0, 1.0)
    pos = initial_ball(np.array([[0.0, 1.0], [0.5, 0.5]]), 40, space, scale=0.05, seed=0)
    assert pos.shape == (40, 2) and np.all(space.contains(pos))
    with pytest.raises(ValueError, match="outside its bounds"):
        initial_ball(np.array([[1.5, 0.5]]), 8, space)


# ------------------------------------------------------------------------------------- frequentist


def test_significance_conventions_textbook_values():
    # Δχ² = 3.84: χ²(1) p = 0.05 and one-sided Z = 1.645; local Z = √Δχ² = 1.96, p = Φ(−1.96)
    s = significance_table(chi2_ref=13.841459, chi2_best=10.0, n_params=3, dof=1)
    assert s["wilks_p"] == pytest.approx(0.05, rel=1e-5) and s["wilks_z"] == pytest.approx(
        1.645, abs=1e-3
    )
    assert s["local_z"] == pytest.approx(1.96, abs=1e-4)
    assert s["local_p"] == pytest.approx(0.025, rel=1e-4)
    # the table: one row per k, p rising and Z falling with k, the configured k marked
    assert [r["dof"] for r in s["by_dof"]] == [1, 2, 3]
    assert [r["configured"] for r in s["by_dof"]] == [True, False, False]
    p = [r["p"] for r in s["by_dof"]]
    assert p[0] < p[1] < p[2] and p[1] == pytest.approx(np.exp(-3.841459 / 2), rel=1e-6)
    # the Belle II excess's size: the numbers (local 2.37, χ²(1) 2.1, χ²(5) 0.39 quoted for
    # Δχ² = 5.6 with dof 5)
    b = significance_table(18.96, 13.36, n_params=6, dof=5)
    assert b["local_z"] == pytest.approx(2.366, abs=1e-3)
    assert b["by_dof"][0]["z"] == pytest.approx(2.10, abs=0.01)
    assert b["wilks_z"] == b["by_dof"][4]["z"] and b["wilks_p"] == pytest.approx(0.347, abs=1e-3)
    # a huge Δχ² stays finite; Δχ² ≤ 0 is p = 1, Z = 0 everywhere (no −inf in JSON)
    big = significance_table(5000.0, 0.0, n_params=5, dof=5)
    assert np.isfinite(big["wilks_z"]) and big["wilks_z"] > 60 and big["local_z"] == np.sqrt(5000)
    for worse in (10.0, 9.0):
        none = significance_table(worse, 10.0, n_params=2, dof=2)
        assert none["local_z"] == 0.0 and none["local_p"] == 1.0
        assert all(r["p"] == 1.0 and r["z"] == 0.0 for r in none["by_dof"])
    with pytest.raises(ValueError, match="dof"):
        significance_table(11.0, 10.0, n_params=2, dof=3)
    with pytest.raises(ValueError, match="non-finite"):
        significance_table(np.nan, 10.0, n_params=2, dof=1)


def test_profile_intervals_are_marginal_not_conditional(gauss3):
    space, fn, cov = gauss3
    bf = best_fit(fn.chi2, space, n_random=8, seed=0)
    np.testing.assert_allclose(bf.theta, 0.0, atol=1e-3)
    P = np.linalg.inv(cov)
    for i, name in enumerate(space.names):
        prof = profile_1d(fn.chi2, space, name, best=bf, n_grid=80)  # grid not aligned with ±σ
        s = np.sqrt(cov[i, i])
        cond = np.sqrt(1.0 / P[i, i])
        assert cond < 0.8 * s  # the two candidate answers are far apart
        (one,) = prof.intervals(1.0)
        (two,) = prof.intervals(4.0)
        np.testing.assert_allclose([one.lower, one.upper], [-s, s], atol=0.01 * s)
        np.testing.assert_allclose([two.lower, two.upper], [-2 * s, 2 * s], atol=0.01 * s)
        assert not (one.lower_at_edge or one.upper_at_edge)
        # the profiled χ² is the marginal quadratic form x²/Σii everywhere on the grid
        expected = prof.grid**2 / cov[i, i]
        assert np.all(np.abs(prof.delta - expected) <= 1e-6 * (1 + expected))


def test_profile_2d_matches_marginal_quadratic_form(gauss3):
    space, fn, cov = gauss3
    bf = best_fit(fn.chi2, space, n_random=4, seed=0)
    p2 = profile_2d(fn.chi2, space, ("x0", "x2"), best=bf, n_grid=(15, 13))
    sub = np.linalg.inv(cov[np.ix_([0, 2], [0, 2])])
    XY = np.stack(np.meshgrid(p2.x, p2.y), axis=-1)
    expected = np.einsum("...i,ij,...j->...", XY, sub, XY)
    assert p2.chi2.shape == (13, 15)
    np.testing.assert_allclose(p2.delta, expected, rtol=1e-4, atol=1e-3)


def test_disjoint_profile_intervals():
    # two separated minima in x0: Δχ² ≤ 1 is two intervals, Δχ² ≤ 10 one that fills the box
    space = box(2, -3.0, 3.0)

    def chi2(th):
        x, y = th[:, 0], th[:, 1]
        return np.minimum((x - 1.5) ** 2 / 0.25, (x + 1.5) ** 2 / 0.25 + 0.5) + y**2

    prof = profile_1d(chi2, space, "x0", best=np.array([1.5, 0.0]), n_grid=121)
    ivs = prof.intervals(1.0)
    assert len(ivs) == 2
    np.testing.assert_allclose(
        [ivs[0].lower, ivs[0].upper],
        [-1.5 - 0.5 * np.sqrt(0.5), -1.5 + 0.5 * np.sqrt(0.5)],
        atol=5e-3,
    )
    np.testing.assert_allclose([ivs[1].lower, ivs[1].upper], [1.0, 2.0], atol=5e-3)
    ivs10 = prof.intervals(10.0)
    assert len(ivs10) == 1 and ivs10[0].lower_at_edge and ivs10[0].upper_at_edge


@pytest.mark.parametrize("method", ["batch-nelder-mead", "L-BFGS-B"])
def test_best_fit_finds_deeper_twin_well(method):
    space = box(6)
    fn = AnalyticFunction("twin_wells", space)
    (deep, chi2_deep), (shallow, chi2_shallow) = fn.minima()
    assert chi2_deep < chi2_shallow
    # start next to the *shallower* well, plus seeded random starts
    bf = best_fit(
        fn.chi2, space, starts=shallow[None, :] + 0.05, n_random=16, seed=3, method=method
    )
    np.testing.assert_allclose(bf.theta, deep, atol=2e-3 * space.width[0])
    assert bf.chi2 == pytest.approx(chi2_deep, abs=1e-6)
    # both wells are reported among the distinct local minima
    assert np.any(np.all(np.abs(bf.minima - shallow) < 0.02, axis=1))


# -------------------------------------------------------------------------------------- validation


def test_reweighting_identical_chi2_gives_full_ess():
    rng = np.random.default_rng(0)
    c = rng.uniform(10, 30, 200)
    m = reweighting_metrics(c, c.copy(), rng.normal(size=(200, 2)), ["a", "b"])
    assert m["ess_fraction"] == pytest.approx(1.0, abs=1e-12)
    assert m["max_weight_share"] == pytest.approx(1 / 200)
    assert m["passed"] and "passes its validation" in m["sentence"]
    assert m["means"]["a"]["raw"] == pytest.approx(m["means"]["a"]["reweighted"])


def test_reweighting_known_weights_and_failures():
    w = np.array([1.0, 1.0, 1.0, 4.0])
    surrogate = np.full(4, 100.0)
    true = surrogate - 2.0 * np.log(w)  # w ∝ exp(−(true − surrogate)/2)
    np.testing.assert_allclose(importance_weights(true, surrogate), w / w.sum())
    m = reweighting_metrics(true, surrogate, ess_threshold=0.7)
    assert m["ess_fraction"] == pytest.approx(49 / 76)  # (Σw)²/(M Σw²)
    assert m["max_weight_share"] == pytest.approx(4 / 7)
    assert not m["passed"] and "FAILS" in m["sentence"]
    # failed true evaluations are excluded and counted
    true_f = np.append(true, [np.nan, 3.0])
    surr_f = np.append(surrogate, [100.0, 100.0])
    failed = np.array([False] * 5 + [True])
    m2 = reweighting_metrics(
        true_f, surr_f, failed=failed, ess_threshold=0.5, max_failed_fraction=0.5
    )
    assert m2["n_failed"] == 2 and m2["n_used"] == 4
    assert m2["ess_fraction"] == pytest.approx(49 / 76) and m2["passed"]
    assert "2 failed" in m2["sentence"]
    m3 = reweighting_metrics(true_f, surr_f, failed=failed, ess_threshold=0.5)  # 33 % failed > 10 %
    assert not m3["passed"]
    # no overflow with large χ² differences
    big = importance_weights(np.array([1e4, 1e4 + 3000.0]), np.array([0.0, 0.0]))
    assert np.all(np.isfinite(big)) and big[0] == pytest.approx(1.0)


def test_pareto_k_flags_a_wrong_surrogate_and_not_a_right_one():
    """PSIS k̂ on 2000 draws of a 6-D surrogate posterior. When the true Δχ² is f times the
    surrogate's, the weights e^{(1−f)Δχ²/2} have a Pareto tail of shape k = 1 − f: f = 1/4 (a
    true posterior twice as wide) is flagged even where a lax ESS threshold lets it pass; a
    surrogate right up to noise, or wider than the truth (k < 0), is not."""
    rng = np.random.default_rng(0)
    s = rng.chisquare(6, 2000)  # surrogate Δχ² at draws of its own posterior
    right = reweighting_metrics(s + rng.normal(0, 0.3, s.size), s)
    wider = reweighting_metrics(1.3 * s, s)
    narrower = reweighting_metrics(0.25 * s, s, ess_threshold=0.01)
    assert right["passed"] and right["pareto_k"] < 0.5
    assert wider["passed"] and wider["pareto_k"] < 0.7
    assert narrower["ess_fraction"] > 0.01 and narrower["pareto_k"] > 0.7
    assert not narrower["passed"] and "heavy tail" in narrower["sentence"]


def test_base_weights_make_per_island_draws_a_posterior_average():
    """Points drawn 50/50 from two islands of mass 0.9/0.1 with base weights 0.9/n and 0.1/n:
    a surrogate equal to the truth gives full relative ESS and the raw means of the posterior."""
    rng = np.random.default_rng(0)
    x = np.r_[rng.normal(1, 0.1, 100), rng.normal(-1, 0.1, 100)][:, None]
    base = np.r_[np.full(100, 0.9 / 100), np.full(100, 0.1 / 100)]
    chi2 = rng.uniform(0, 5, 200)
    m = reweighting_metrics(chi2, chi2, x, ["x"], base_weights=base)
    assert m["ess_fraction"] == pytest.approx(1.0)
    assert m["means"]["x"]["raw"] == pytest.approx(0.8, abs=0.02)
    # the truth moves mass from island 1 to island 2: e^{-1} on island 1 only
    shifted = chi2 + np.r_[np.full(100, 2.0), np.zeros(100)]
    r = reweighted_posterior(x, ["x"], shifted, chi2, base, np.r_[[0] * 100, [1] * 100], True)
    exact = 0.9 * np.exp(-1) / (0.9 * np.exp(-1) + 0.1)
    assert r["islands"][0]["mass_reweighted"] == pytest.approx(exact)
    assert r["islands"][0]["mass_surrogate"] == pytest.approx(0.9)


def test_posterior_summary_quantiles():
    x = np.random.default_rng(1).normal(2.0, 3.0, size=(200_000, 1))
    x[:10] = np.nan
    s = posterior_summary(x, ["a"])["a"]
    assert s["n_nonfinite"] == 10
    assert s["mean"] == pytest.approx(2.0, abs=0.03) and s["sd"] == pytest.approx(3.0, rel=0.01)
    assert s["q16"] == pytest.approx(2.0 - 3.0 * 0.9945, abs=0.05)
    assert s["q97.5"] == pytest.approx(2.0 + 3.0 * 1.96, abs=0.08)


# ---------------------------------------------------------------------------------------- plots


def test_inference_plots_write_files(tmp_path, gauss3):
    from globalfit.plots import inference as P

    space, fn, cov = gauss3
    rng = np.random.default_rng(0)
    s = rng.multivariate_normal(np.zeros(3), cov, size=400)
    chain = s.reshape(50, 8, 3)
    bf = best_fit(fn.chi2, space, n_random=4)
    p1 = [profile_1d(fn.chi2, space, n, best=bf, n_grid=21) for n in space.names[:2]]
    p2 = profile_2d(fn.chi2, space, ("x0", "x1"), best=bf, n_grid=11)
    t = fn.chi2(s[:50])
    t[0] = np.nan
    paths = [
        P.corner_plot(s, space.names, tmp_path / "corner.png", truths=[0, 0, 0]),
        P.derived_corner_plot(
            {"x0+x1": s[:, 0] + s[:, 1], "x2^2": s[:, 2] ** 2}, tmp_path / "derived.png"
        ),
        P.trace_plot(
            chain,
            space.names,
            tmp_path / "trace.png",
            burn=10,
            log_prob=-0.5 * fn.chi2(s).reshape(50, 8),
        ),
        P.profile_1d_plot(p1, tmp_path / "profile_1d.png"),
        P.profile_2d_plot(p2, tmp_path / "profile_2d.png", best=bf.theta[:2]),
        P.chi2_scatter_plot(t, t + rng.normal(0, 0.3, 50), tmp_path / "chi2_scatter.png"),
    ]
    for p in paths:
        assert p.exists() and p.stat().st_size > 5000
