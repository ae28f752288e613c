import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
PLUGINS = Path(__file__).resolve().parent / "plugins"

# test plug-ins must be importable by oracle worker processes and by Snakemake jobs
os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PLUGINS), os.environ.get("PYTHONPATH")]))
sys.path.insert(0, str(PLUGINS))


def run_snakemake(workdir, configfile, *args, timeout=900, check=True, env=None):
    """Run the project's Snakefile in ``workdir`` with a config file; returns CompletedProcess."""
    cmd = [
        str(BIN / "snakemake"),
        "-s", str(ROOT / "Snakefile"),
        "--directory", str(workdir),
        "--configfile", str(configfile),
        *args,
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env={**os.environ, **(env or {})})
    if check and proc.returncode != 0:
        raise AssertionError(f"snakemake failed ({proc.returncode}):\n{proc.stdout[-4000:]}\n{proc.stderr[-6000:]}")
    return proc


def write_config(path, base, **overrides):
    """Write a copy of a YAML config with top-level sections updated (dicts merged one level)."""
    import yaml

    with open(base) as f:
        cfg = yaml.safe_load(f)
    for k, v in overrides.items():
        if isinstance(v, dict) and isinstance(cfg.get(k), dict):
            cfg[k] = {**cfg[k], **v}
        else:
            cfg[k] = v
    with open(path, "w") as f:
        yaml.safe_dump(cfg, f)
    return path


@pytest.fixture
def analytic_config():
    return ROOT / "tests" / "configs" / "analytic.yaml"
