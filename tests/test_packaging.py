"""The pins that the reference numbers and the compiled surrogate depend on agree everywhere."""

import re

import yaml

from conftest import ROOT

CRITICAL = {
    "alpaca-alps": "1.2.0",
    "flavio": "2.7.1",
    "treelite": "4.1.2",
    "tl2cgen": "1.0.0",
    "xgboost": "2.1.4",
}


def lock_pins():
    pins = {}
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        m = re.match(r"^([A-Za-z0-9_.-]+)==(\S+)$", line.strip())
        if m:
            pins[m.group(1).lower()] = m.group(2)
    return pins


def test_lock_pins_the_reference_versions():
    pins = lock_pins()
    for name, ver in CRITICAL.items():
        assert pins.get(name) == ver, name
    major = int(pins["setuptools"].split(".")[0])
    assert major < 81  # gpflow imports pkg_resources


def test_conda_env_names_the_same_pins():
    env = yaml.safe_load((ROOT / "envs" / "globalfit.yaml").read_text())
    assert "python=3.12" in env["dependencies"]
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    conda_pins = dict(re.match(r"^([A-Za-z0-9_.-]+)==(\S+)$", p).groups() for p in pip if "==" in p)
    assert {k.lower(): v for k, v in conda_pins.items()} == {k: lock_pins()[k] for k in conda_pins}
    assert set(CRITICAL) <= set(conda_pins)
    assert "setuptools<81" in pip


def test_installed_versions_match_the_lock():
    from importlib.metadata import version

    import tl2cgen
    import treelite

    pins = lock_pins()
    for name in CRITICAL:
        assert version(name) == pins[name], name
    assert treelite.__version__ == pins["treelite"] and tl2cgen.__version__ == pins["tl2cgen"]
