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


# In a child process: ALP-aca's running (wilson) makes PyYAML build OrderedDicts process-wide.
# For each mass: the derived feature definitions and, at random points, ALP-aca's own couplings,
# widths and Belle II escape probability.
_FEATURES_AND_TRUTH = """
import json, sys, numpy as np
from alpaca.constants import hbarc_GeVnm
from alpaca.decays.alp_decays.fermion_decays import decay_width_muon
from alpaca.decays.alp_decays.gaugebosons import decay_width_2gluons
from alpaca.decays.effcouplings import effcoupling_ff
from alpaca.experimental_data.measurements_exp import get_measurements
from globalfit.config import ALP_FEATURES
from globalfit.oracles.alp import uv_couplings
from globalfit.oracles.alp_features import alp_feature_definitions
a = json.load(sys.stdin)
belle2 = get_measurements("B+ -> K+ a")["Belle II"]
out = {}
for ma in a["masses"]:
    d = alp_feature_definitions(list(ALP_FEATURES), ma, (6.0, 8.0))
    truth = []
    for t in a["theta"]:
        c, fa = uv_couplings(dict(zip(a["names"], t)))
        run = c.match_run(ma, "VA_below")
        g_mumu, g_gg = decay_width_muon(ma, c, fa), decay_width_2gluons(ma, c, fa)
        p = belle2.decay_probability(1e-7 * hbarc_GeVnm / (g_mumu + g_gg), ma)
        truth.append({"c_mumu_over_fa": float(np.real(effcoupling_ff(ma, run, "mu"))) * 1e7 / fa,
                      "c_bs_over_fa": float(np.real(run.values["cdV"][1, 2])) * 1e7 / fa,
                      "gamma_mumu": g_mumu, "gamma_gg": g_gg,
                      "p_escape": float(np.asarray(p).reshape(-1)[0])})
    out[str(ma)] = {"definitions": d, "truth": truth}
try:
    alp_feature_definitions(["c_mumu_over_fa"], 1.0, (6.0, 8.0))
except ValueError as exc:
    out["error"] = str(exc)
print(json.dumps(out))
"""


def test_oracle_features_are_computed_from_alpaca_at_two_masses():
    """The ALP features' coefficients come from ALP-aca at the configured mₐ: at 2 GeV they
    reproduce the values once fitted by hand (0.2292, 10.15, ...); at 2 GeV and at 2.4 GeV the
    features equal ALP-aca's couplings, a → μμ and a → gg widths and Belle II escape
    probability at random points (log10 fa between the nodes); a mass where the width is not
    a → μμ plus a → gg is refused."""
    from globalfit.features import FeatureMap

    rng = np.random.default_rng(11)
    theta = np.column_stack([rng.uniform(-3, 3, (2, 5)), rng.uniform(6.1, 7.9, 2)])
    args = {"theta": theta.tolist(), "names": NAMES, "masses": [2.0, 2.4]}
    proc = subprocess.run(
        [sys.executable, "-c", _FEATURES_AND_TRUTH],
        input=json.dumps(args),
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    at2 = out["2.0"]["definitions"]
    centre = {k: v["at_centre"] for k, v in at2["coefficients"].items()}
    assert centre["c_mumu"]["cuR"] == pytest.approx(0.2292, abs=0.001)
    assert centre["c_mumu"]["cqL33"] == pytest.approx(-0.2292, abs=0.001)
    assert centre["c_mumu"]["ceR"] == pytest.approx(1.0, abs=0.001)
    assert centre["c_bs"]["cqL33"] == pytest.approx(-0.0398, abs=0.0005)
    assert centre["c_gg"]["cuR"] == pytest.approx(0.4686, abs=0.001)
    assert centre["c_gg"]["cdR"] == pytest.approx(0.9916, abs=0.001)
    assert at2["width_ratio"] == pytest.approx(10.15, abs=0.01)
    at24 = out["2.4"]["definitions"]
    assert abs(at24["width_ratio"] / at2["width_ratio"] - 1) > 0.05  # the mass matters
    assert abs(at24["escape_exponent"] / at2["escape_exponent"] - 1) > 0.05
    for ma in ("2.0", "2.4"):
        d, truth = out[ma]["definitions"], out[ma]["truth"]
        fmap = FeatureMap(NAMES, d["features"])
        X = fmap(theta)
        col = {n: X[:, fmap.names.index(n)] for n in fmap.names[len(NAMES) :]}
        unit = d["unit_width_mumu_GeV"]
        for i, t in enumerate(truth):
            for name in ("c_mumu_over_fa", "c_bs_over_fa"):
                # to 1e-3 of the couplings' size: c_mumu cancels between them, and ALP-aca's
                # running of a sum differs from the sum of runs at that level
                scale = 10 ** (7 - theta[i, 5]) * np.abs(theta[i, :5]).sum()
                assert col[name][i] == pytest.approx(t[name], rel=2e-3, abs=1e-3 * scale), (
                    ma,
                    name,
                )
            assert unit * col["c_mumu_over_fa"][i] ** 2 == pytest.approx(t["gamma_mumu"], rel=1e-2)
            gg = unit * d["width_ratio"] * col["c_gg_over_fa"][i] ** 2
            assert gg == pytest.approx(t["gamma_gg"], rel=1e-2)
            assert unit * col["width"][i] == pytest.approx(t["gamma_mumu"] + t["gamma_gg"], 1e-2)
            p_escape = col["b_to_k_invisible"][i] / col["c_bs_over_fa"][i] ** 2
            assert np.log(p_escape) == pytest.approx(np.log(t["p_escape"]), rel=1e-2)  # as width
    assert "oracle.options.ma = 1.0 GeV" in out["error"]


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
