"""The real ALP-aca oracle: reference values (docs/design.md), bit-identical χ² across processes."""

import json
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from conftest import BIN, ROOT
from globalfit.oracles.alp import AlpOracle

pytestmark = pytest.mark.alp
NAMES = ["cqL33", "cuR", "cdR", "clL33", "ceR", "log10_fa"]
REFERENCE = [  # θ, χ² measured on two machines with the project convention (docs/design.md)
    ((0, 0, 0, 0, 0, 8), 18.980670),
    ((-2.720801, 0.859483, -1.268719, 1.208097, -0.824785, 7.310653), 13.327440),
    ((0.1, 0.1, 0.1, 0.1, 0.1, 7.0), 18.831709),
]


def start_evaluate(points: pd.DataFrame, tmp_path, tag, env=None):
    src = tmp_path / f"{tag}.csv"
    points.to_csv(src, index=False, float_format="%.17g")
    out = tmp_path / f"{tag}_out.csv"
    cmd = [
        str(BIN / "globalfit"),
        "evaluate",
        str(src),
        "-o",
        str(out),
        "--config",
        str(ROOT / "config" / "config.yaml"),
        "--no-cache",
    ]
    proc = subprocess.Popen(
        cmd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
    )
    return proc, out


def finish(proc, out):
    stdout, stderr = proc.communicate(timeout=900)
    assert proc.returncode == 0, stderr[-3000:]
    return pd.read_csv(out, float_precision="round_trip")


def test_reference_points_in_two_processes_and_orders(tmp_path):
    pts = pd.DataFrame([t for t, _ in REFERENCE], columns=NAMES, dtype=float)
    a = start_evaluate(pts, tmp_path, "forward")
    b = start_evaluate(pts.iloc[::-1], tmp_path, "reverse")
    fwd, rev = finish(*a), finish(*b).iloc[::-1].reset_index(drop=True)
    expected = np.array([c for _, c in REFERENCE])
    assert list(fwd.status) == ["ok"] * 3
    np.testing.assert_allclose(fwd.chi2, expected, atol=1e-6, rtol=0)
    np.testing.assert_allclose(rev.chi2, expected, atol=1e-6, rtol=0)


def test_random_points_bit_identical_whatever_the_parent_hash_seed(tmp_path):
    rng = np.random.default_rng(2024)
    theta = np.column_stack([rng.uniform(-3, 3, (5, 5)), rng.uniform(6, 8, 5)])
    pts = pd.DataFrame(theta, columns=NAMES)
    a = start_evaluate(pts, tmp_path, "seed1", env={"PYTHONHASHSEED": "1"})
    b = start_evaluate(pts, tmp_path, "seed_random", env={"PYTHONHASHSEED": "random"})
    ra, rb = finish(*a), finish(*b)
    assert (ra.status == "ok").all()
    assert np.array_equal(ra.chi2.to_numpy(), rb.chi2.to_numpy())  # bitwise, via %.17g round trip
    np.testing.assert_array_equal(ra[NAMES].to_numpy(), theta)


def test_refuses_to_run_with_hash_randomisation(monkeypatch):
    monkeypatch.setenv("PYTHONHASHSEED", "random")
    with pytest.raises(RuntimeError, match="PYTHONHASHSEED=0"):
        AlpOracle(NAMES).setup()


def test_evaluate_cli_rejects_bad_points(tmp_path):
    bad = tmp_path / "bad.csv"
    pd.DataFrame([[0, 0, 0, 0, 0, 9.0]], columns=NAMES).to_csv(bad, index=False)
    proc = subprocess.run(
        [
            str(BIN / "globalfit"),
            "evaluate",
            str(bad),
            "-o",
            str(tmp_path / "o.csv"),
            "--config",
            str(ROOT / "config/config.yaml"),
        ],
        capture_output=True,
        text=True,
    )
    assert (
        proc.returncode == 2
        and "'log10_fa', row 0 (line 2): 9.0 is outside the bounds" in proc.stderr
    )
    pd.DataFrame([[0, 0, 0, 0, 0]], columns=NAMES[:5]).to_csv(bad, index=False)
    proc = subprocess.run(
        [
            str(BIN / "globalfit"),
            "evaluate",
            str(bad),
            "-o",
            str(tmp_path / "o.csv"),
            "--config",
            str(ROOT / "config/config.yaml"),
        ],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2 and "missing parameter column(s) ['log10_fa']" in proc.stderr
    assert not (tmp_path / "o.csv").exists()


def test_default_config_features_follow_alpaca_running():
    """The default config's derived surrogate inputs (c_mumu/fa, c_bs/fa at mu = ma, and c_gg/fa
    with the width ratio 10.15 in width and br_a_mumu) are fits to ALP-aca's running and widths;
    check them against it at random points."""
    from globalfit import config as gfconfig
    from globalfit.features import FeatureMap

    cfg = gfconfig.load(ROOT / "config" / "config.yaml")
    names = [p["name"] for p in cfg["parameters"]]
    fmap = FeatureMap(names, cfg["surrogate"]["features"])
    rng = np.random.default_rng(11)
    theta = np.column_stack([rng.uniform(-3, 3, (2, 5)), rng.uniform(6, 8, 2)])
    # in a child process: ALP-aca's running (wilson) makes PyYAML build OrderedDicts process-wide
    code = (
        "import json, sys, numpy as np; "
        "from globalfit.inference.derived import alp_observables; "
        "a = json.load(sys.stdin); "
        "low = alp_observables(np.array(a['theta']), a['names'], ma=a['ma']); "
        "out = {k: v.tolist() for k, v in low.items()}; "
        "from globalfit.oracles.alp import uv_couplings; "
        "from alpaca.decays.alp_decays.gaugebosons import decay_width_2gluons; "
        "from alpaca.decays.alp_decays.fermion_decays import decay_width_muon; "
        "uv = [uv_couplings(dict(zip(a['names'], t))) for t in a['theta']]; "
        "out['gg_over_mumu'] = [decay_width_2gluons(a['ma'], c, fa) "
        "/ decay_width_muon(a['ma'], c, fa) for c, fa in uv]; "
        "print(json.dumps(out))"
    )
    args = {"theta": theta.tolist(), "names": names, "ma": cfg["oracle"]["options"]["ma"]}
    proc = subprocess.run(
        [sys.executable, "-c", code],
        input=json.dumps(args),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    true = {k: np.array(v) for k, v in json.loads(proc.stdout.strip().splitlines()[-1]).items()}
    X = fmap(theta)
    scale = 10 ** (7 - theta[:, 5])
    for name, key in (("c_mumu_over_fa", "c_mumu"), ("c_bs_over_fa", "c_bs")):
        expected = true[key] * scale
        got = X[:, fmap.names.index(name)]
        # 1 % of the coupling's typical size (couplings of order 1 give c_mumu ~ 1, c_bs ~ 0.1)
        np.testing.assert_allclose(
            got, expected, atol=0.01 * {"c_mumu": 1.0, "c_bs": 0.1}[key] * scale.max(), rtol=0.01
        )
    # Γ(a → gg) / Γ(a → μμ), which sets the approximate BR(a → μμ) = 1 / (1 + that ratio)
    c_gg, c_mumu = (X[:, fmap.names.index(n)] for n in ("c_gg_over_fa", "c_mumu_over_fa"))
    np.testing.assert_allclose(10.15 * c_gg**2 / c_mumu**2, true["gg_over_mumu"], rtol=0.03)
    np.testing.assert_allclose(
        X[:, fmap.names.index("width")] / c_mumu**2, 1 + true["gg_over_mumu"], rtol=0.03
    )
    np.testing.assert_allclose(
        X[:, fmap.names.index("br_a_mumu")], 1 / (1 + np.array(true["gg_over_mumu"])), rtol=0.03
    )


def test_alp_observables_scale_with_fa_as_the_physics_says():
    """BR(B+ -> K+ a) ∝ 1/fa² and Γ ∝ 1/fa² (so cτ ∝ fa²) at fixed couplings, up to the slow
    running between Λ = 4π fa and mₐ; the invisible rate is BR × P(decay outside Belle II)."""
    names = list(NAMES)
    base = [0.8, -0.6, 0.4, 1.1, 0.7, 7.0]
    theta = [base, [*base[:5], 6.5]]
    code = (
        "import json, sys, numpy as np; "
        "from globalfit.inference.derived import alp_observables; "
        "a = json.load(sys.stdin); "
        "o = alp_observables(np.array(a['theta']), a['names'], ma=2.0); "
        "print(json.dumps({k: v.tolist() for k, v in o.items()}))"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        input=json.dumps({"theta": theta, "names": names}),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    o = {k: np.array(v) for k, v in json.loads(proc.stdout.strip().splitlines()[-1]).items()}
    assert o["br_b_to_k_a"][1] / o["br_b_to_k_a"][0] == pytest.approx(10.0, rel=0.1)
    assert o["ctau_cm"][1] / o["ctau_cm"][0] == pytest.approx(0.1, rel=0.1)
    assert np.all((0 <= o["p_invisible_belle2"]) & (o["p_invisible_belle2"] <= 1))
    assert o["p_invisible_belle2"][1] < o["p_invisible_belle2"][0]  # shorter-lived: seen less
    np.testing.assert_array_equal(
        o["br_invisible_belle2"], o["br_b_to_k_a"] * o["p_invisible_belle2"]
    )
    fa = 10.0 ** np.array([7.0, 6.5])
    np.testing.assert_allclose(o["c_mumu_over_fa_TeV"], 1e3 * o["c_mumu"] / fa)


def test_every_observable_of_the_breakdown_sits_in_an_alpaca_sector():
    """The per-sector sums of the summary's chi2_contributions match the oracle's breakdown by
    name: every observable the χ² is made of belongs to some sector, and the sector sums add
    the B+ -> K+ invisible measurements up under BKinv."""
    code = (
        "import json, numpy as np; "
        "from globalfit.oracles.alp import AlpOracle, sector_observables; "
        f"o = AlpOracle({NAMES!r}); o.setup(); "
        "total, parts = o(np.array([0.5, 0.5, 0.5, 0.5, 0.5, 7.0])); "
        "print(json.dumps({'total': total, 'parts': parts, 'sectors': sector_observables()}))"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "PYTHONHASHSEED": "0"},
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    in_sectors = set().union(*map(set, out["sectors"].values()))
    assert set(out["parts"]) <= in_sectors and "all" not in out["sectors"]
    assert sum(out["parts"].values()) == pytest.approx(out["total"], abs=1e-9)
    assert "B+ -> K+ alp" in out["sectors"]["BKinv"]
