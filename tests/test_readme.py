"""The README quotes the default run's numbers from the file the workflow wrote, not by hand."""

import json

from conftest import ROOT
from globalfit.reporting import MARK_END, MARK_START, render_markdown


def test_readme_numbers_come_from_docs_default_run_json():
    summary = json.loads((ROOT / "docs" / "default_run.json").read_text())
    readme = (ROOT / "README.md").read_text()
    block = MARK_START + readme.split(MARK_START, 1)[1].split(MARK_END, 1)[0] + MARK_END
    assert block == render_markdown(summary)
    assert summary["config_name"] == "alp_belle2_bknunu"
    for key in ("timings", "evaluation", "surrogate", "inference"):
        assert key in summary, key


def test_default_run_is_the_default_config():
    from globalfit import config as gfconfig
    from globalfit.provenance import hash_object

    summary = json.loads((ROOT / "docs" / "default_run.json").read_text())
    cfg = gfconfig.load(ROOT / "config" / "config.yaml")
    sections = (
        "parameters",
        "oracle",
        "design",
        "evaluation",
        "active_learning",
        "surrogate",
        "inference",
    )
    assert summary["config_hash"] == hash_object({s: cfg.get(s) for s in sections})
