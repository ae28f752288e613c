import pytest
import yaml

from conftest import ROOT, run_snakemake
from globalfit import config as gfconfig


def default_raw():
    with open(ROOT / "config" / "config.yaml") as f:
        return yaml.safe_load(f)


def test_default_config_is_the_tutorial_alp_fit():
    cfg = gfconfig.validate_schema(default_raw())
    gfconfig.check(cfg)
    names = [p["name"] for p in cfg["parameters"]]
    assert names == ["cqL33", "cuR", "cdR", "clL33", "ceR", "log10_fa"]
    assert all((p["lower"], p["upper"]) == (-3.0, 3.0) for p in cfg["parameters"][:5])
    assert (cfg["parameters"][5]["lower"], cfg["parameters"][5]["upper"]) == (6.0, 8.0)
    assert cfg["oracle"] == {
        "name": "alp",
        "options": {"ma": 2.0, "sectors": "all"},
        "plugin": None,
    }


def test_defaults_are_filled_and_every_schema_key_is_documented():
    cfg = gfconfig.validate_schema(
        {"parameters": [{"name": "a", "lower": 0, "upper": 1}], "oracle": {"name": "bowl"}}
    )
    assert cfg["evaluation"]["chunk_size"] == 16 and cfg["design"]["n_initial"] == 288
    assert cfg["parameters"][0]["prior"]["type"] == "soft_uniform"
    # a default that depends on another key: Wilks' dof is the number of parameters
    assert cfg["inference"]["dof"] is None
    assert gfconfig.fill_dependent_defaults(cfg)["inference"]["dof"] == 1

    def walk(node, where):
        for key, sub in node.get("properties", {}).items():
            assert sub.get("description"), f"{where}.{key} has no description"
            walk(sub, f"{where}.{key}")
        if "items" in node:
            walk(node["items"], where + "[]")

    walk(gfconfig.load_schema(), "config")


def mutate(fn):
    raw = default_raw()
    fn(raw)
    return raw


BAD = {
    "reversed bounds": (
        lambda c: c["parameters"][1].update(lower=3.0, upper=-3.0),
        "parameters[1] (cuR)",
    ),
    "unknown oracle": (lambda c: c["oracle"].update(name="alpha"), "oracle.name"),
    "zero chunk size": (lambda c: c["evaluation"].update(chunk_size=0), "evaluation.chunk_size"),
    "negative initial points": (lambda c: c["design"].update(n_initial=-5), "design.n_initial"),
    "non-positive timeout": (lambda c: c["evaluation"].update(timeout=0), "evaluation.timeout"),
    "unknown top-level key": (lambda c: c.update(desing={"n_initial": 3}), "desing"),
    "unknown nested key": (lambda c: c["evaluation"].update(chunksize=4), "chunksize"),
    "missing parameters": (lambda c: c.pop("parameters"), "parameters"),
    "missing bound": (lambda c: c["parameters"][0].pop("upper"), "upper"),
    "alp without fa": (lambda c: c["parameters"].pop(), "alp oracle needs"),
    "unknown alp option": (lambda c: c["oracle"]["options"].update(mass=2), "oracle.options"),
    "negative ALP mass": (lambda c: c["oracle"]["options"].update(ma=-1.0), "oracle.options.ma"),
    "plugin without target": (lambda c: c["oracle"].update(name="plugin"), "oracle.plugin"),
    "zero parallel chunks": (
        lambda c: c["evaluation"].update(parallel_chunks=0),
        "evaluation.parallel_chunks",
    ),
    "profile pair of an unknown parameter": (
        lambda c: c["inference"].update(profile_pair=["cuR", "nope"]),
        "inference.profile_pair: unknown parameter(s) ['nope']",
    ),
    "profile pair of one parameter twice": (
        lambda c: c["inference"].update(profile_pair=["cuR", "cuR"]),
        "inference.profile_pair",
    ),
    "reference point missing a parameter": (
        lambda c: c["inference"]["reference_point"].pop("ceR"),
        "inference.reference_point: no value for parameter(s) ['ceR']",
    ),
    "reference point with an unknown parameter": (
        lambda c: c["inference"]["reference_point"].update(fa=1e8),
        "inference.reference_point: unknown parameter(s) ['fa']",
    ),
    "reference point outside the box": (
        lambda c: c["inference"]["reference_point"].update(log10_fa=8.5),
        "inference.reference_point.log10_fa: 8.5 is outside the box",
    ),
    "more Wilks dof than parameters": (
        lambda c: c["inference"].update(dof=7),
        "inference.dof: 7 degrees of freedom for 6 parameters",
    ),
    "oracle feature the oracle does not offer": (
        lambda c: c["surrogate"].update(oracle_features=["c_mumu_over_fa", "c_tt_over_fa"]),
        "surrogate.oracle_features: the alp oracle offers no feature 'c_tt_over_fa'",
    ),
    "oracle feature before what it is built on": (
        lambda c: c["surrogate"].update(oracle_features=["c_bs_over_fa", "b_to_k_mumu"]),
        "'b_to_k_mumu' is built on ['br_a_mumu'], which must be listed before it",
    ),
    "call budget spent by the design": (
        lambda c: c["active_learning"].update(max_calls=160),
        "active_learning.max_calls: a budget of 160 training calls leaves none for the rounds "
        "after the design's 160",
    ),
    "negative stop_after": (
        lambda c: c["active_learning"].update(stop_after=-1),
        "stop_after",
    ),
    "unknown exact problem": (
        lambda c: c["oracle"].update(name="exact", options={"problem": "banana"}),
        "oracle.options.problem: 'banana' is not one of",
    ),
    "unknown option of an exact problem": (
        lambda c: c["oracle"].update(name="exact", options={"problem": "two_wells", "width": 1}),
        "oracle.options: unknown option(s) ['width'] for 'two_wells'",
    ),
    "exact problem on a box it is not exact on": (
        lambda c: c["oracle"].update(name="exact", options={"problem": "two_wells"}),
        "parameters[5] (log10_fa): an exact problem's answers hold on a box [−h, h]^d",
    ),
    "exact problem in too few dimensions": (
        lambda c: (
            c["oracle"].update(name="exact", options={"problem": "curved_valley"}),
            c["parameters"].__delitem__(slice(1, None)),
        ),
        "the exact problem 'curved_valley' needs d ≥ 2",
    ),
    "feature of an unknown parameter": (
        lambda c: c.setdefault("surrogate", {}).update(
            features=[{"name": "g", "expression": "ceR / fa"}]
        ),
        "surrogate.features[0] ('g'): unknown name 'fa'",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_configs_are_rejected_naming_the_key(case):
    change, needle = BAD[case]
    raw = mutate(change)
    with pytest.raises(gfconfig.ConfigError) as err:
        gfconfig.check(gfconfig.validate_schema(raw))
    assert needle in str(err.value)


@pytest.mark.workflow
def test_snakemake_rejects_a_bad_config_before_any_job(tmp_path):
    raw = mutate(BAD["reversed bounds"][0])
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(raw))
    proc = run_snakemake(tmp_path, path, "-n", "--cores", "1", check=False, timeout=300)
    assert proc.returncode != 0
    assert "cuR" in proc.stdout + proc.stderr
    assert not (tmp_path / "results").exists()

    raw = mutate(BAD["zero chunk size"][0])
    path.write_text(yaml.safe_dump(raw))
    proc = run_snakemake(tmp_path, path, "-n", "--cores", "1", check=False, timeout=300)
    assert proc.returncode != 0 and "chunk_size" in proc.stdout + proc.stderr

    # a semantic check (once only found by the frequentist job, after the active learning)
    raw = mutate(BAD["profile pair of an unknown parameter"][0])
    path.write_text(yaml.safe_dump(raw))
    proc = run_snakemake(tmp_path, path, "-n", "--cores", "1", check=False, timeout=300)
    assert proc.returncode != 0 and "inference.profile_pair" in proc.stdout + proc.stderr
