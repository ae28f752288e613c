"""The workflow deployed as a Snakemake module with snakedeploy, from a clean clone, run to the end.

A user runs ``snakedeploy deploy-workflow https://github.com/<owner>/globalfit DEST --tag vX.Y.Z``
and gets a Snakefile whose module reads our files from that tag, not from a working tree. Offline,
the same is a clean ``git clone`` deployed with snakedeploy and its module pointed at the tag
through Snakemake's ``gitfile`` (the local-repository twin of ``github``): every rule file, script,
schema and caption is then read from git objects, and the package comes from the environment, as
config/README.md tells a user to install it.
"""

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from conftest import ROOT, tiny_analytic

pytestmark = pytest.mark.workflow
BIN = Path(sys.executable).parent
GITHUB_TWIN = """
from snakemake import sourcecache

_join = sourcecache.LocalGitFile.join


def _join_as_github_does(self, path):
    if isinstance(path, sourcecache.SourceFile):
        path = path.get_path_or_uri(secret_free=False)
    joined = _join(self, path)
    joined.path = joined.path.lstrip("/")
    return joined


sourcecache.LocalGitFile.join = _join_as_github_does
"""


def git(cwd, *args):
    return subprocess.run(
        ["git", *args], cwd=cwd, check=True, capture_output=True, text=True
    ).stdout.strip()


def test_snakedeploy_module_from_a_tag_runs_a_tiny_fit(tmp_path):
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(ROOT), str(clone))
    version = re.search(r'^version = "([^"]+)"', (clone / "pyproject.toml").read_text(), re.M)[1]
    tag = f"v{version}"  # on this commit, even where a release of that name exists (-f)
    git(clone, "-c", "user.name=t", "-c", "user.email=t@t", "tag", "-f", "-a", tag, "-m", tag)

    dest = tmp_path / "deployed"
    proc = subprocess.run(
        [BIN / "snakedeploy", "deploy-workflow", clone, dest, "--tag", tag, "--name", "globalfit"],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (dest / "LICENSE").is_file() and (dest / "config" / "README.md").is_file()
    assert (dest / "profiles" / "slurm" / "config.yaml").is_file()
    snakefile = dest / "workflow" / "Snakefile"
    text = snakefile.read_text()
    assert "module globalfit:" in text and "use rule * from globalfit" in text, text
    # snakedeploy's local provider writes the clone-relative path; GitHub's writes
    # github("<owner>/globalfit", path="Snakefile", tag=...), whose files Snakemake reads from
    # git objects at the tag. The offline twin is Snakemake's gitfile, except that gitfile keeps
    # the "/" it puts before paths joined to a file at the repository's top level (github strips
    # it), so the deployed Snakefile makes gitfile's join strip it too.
    text = text.replace("module globalfit:", GITHUB_TWIN + "\n\nmodule globalfit:")
    text, n = re.subn(
        r'snakefile:\s*\n\s*"Snakefile"',
        f'snakefile:\n        gitfile("{clone}", path="Snakefile", tag="{tag}")',
        text,
    )
    assert n == 1, text
    snakefile.write_text(text)

    # the user's config: the tiny analytic fit in place of the ALP one
    cfg = tiny_analytic()
    (dest / "config" / "config.yaml").write_text(yaml.safe_dump(cfg))

    proc = subprocess.run(
        [str(BIN / "snakemake"), "--cores", "2"],
        cwd=dest,
        capture_output=True,
        text=True,
        timeout=900,
    )
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-6000:]
    summary = yaml.safe_load((dest / "results" / "run_summary.json").read_text())
    assert summary["config_name"] == cfg["name"]
    assert summary["evaluation"]["n_points"] == 30 + 10
    assert (dest / "results" / "inference" / "plots" / "corner.png").stat().st_size > 0
