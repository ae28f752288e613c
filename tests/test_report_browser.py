"""The HTML report of the analytic run, opened in a real (headless) Chromium.

Snakemake's report is a React page: what a reader sees exists only after its scripts ran, so the
test reads the DOM that Chromium dumps, not the HTML file. Skipped where Chromium is absent,
unless GLOBALFIT_REQUIRE_BROWSER=1 (as .ci/run sets, after installing Debian's chromium).
"""

import json
import os
import shutil
import subprocess
from html.parser import HTMLParser

import numpy as np
import pytest

from conftest import ANALYTIC, snakemake

pytestmark = pytest.mark.workflow


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if path := shutil.which(name):
            return path
    if os.environ.get("GLOBALFIT_REQUIRE_BROWSER") == "1":
        pytest.fail(
            "GLOBALFIT_REQUIRE_BROWSER=1 but no chromium on PATH (apt-get install chromium)"
        )
    pytest.skip("no chromium (apt-get install chromium)")


def headless(browser, *args, timeout=120):
    return subprocess.run(
        [
            browser,
            "--headless=new",
            "--no-sandbox",  # CI runs as root
            "--disable-gpu",
            "--no-first-run",
            "--virtual-time-budget=20000",  # let the page's scripts run to the end
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


class Landing(HTMLParser):
    """Rows of the landing page's headline table and the corner image's attributes."""

    def __init__(self):
        super().__init__()
        self.rows, self.image, self._table, self._cell = [], None, 0, None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "table" and "landing-headline" in (a.get("class") or ""):
            self._table += 1
        elif self._table and tag == "tr":
            self.rows.append([])
        elif self._table and tag in ("td", "th"):
            self._cell = []
        elif tag == "img" and a.get("id") == "landing-corner":
            self.image = a

    def handle_endtag(self, tag):
        if tag == "table" and self._table:
            self._table -= 1
        elif self._table and tag in ("td", "th") and self._cell is not None:
            self.rows[-1].append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


@pytest.fixture(scope="module")
def rendered_report(request, tmp_path_factory):
    browser = chromium()  # skips before the session's run is made, where there is no browser
    finished_run = request.getfixturevalue("finished_run")
    out = tmp_path_factory.mktemp("report")
    report = out / "report.html"
    snakemake(finished_run, ANALYTIC, "--report", str(report))
    dom = headless(browser, "--dump-dom", report.as_uri())
    assert dom.returncode == 0, dom.stderr[-3000:]
    shot = out / "landing.png"
    proc = headless(browser, f"--screenshot={shot}", "--window-size=1400,1800", report.as_uri())
    assert proc.returncode == 0 and shot.is_file(), proc.stderr[-3000:]
    return dom.stdout, shot


def test_landing_page_shows_the_run_summary_numbers(rendered_report, finished_run):
    page = Landing()
    page.feed(rendered_report[0])
    table = {r[0]: r[1] for r in page.rows if len(r) == 2}
    assert table, "no headline table on the landing page"
    s = json.loads((finished_run / "results" / "run_summary.json").read_text())
    inf = s["inference"]
    numbers = {
        "best-fit χ² (true oracle)": inf["best_fit"]["chi2_true"],
        "Δχ² (reference − best fit)": inf["significance"]["delta_chi2"],
        "local significance √Δχ²": inf["significance"]["local_z"],
        f"Wilks Z, χ²({inf['significance']['dof']})": inf["significance"]["wilks_z"],
        "ln Bayes factor vs the reference point": inf["bayes_factor"]["log_b"],
        "validation ESS fraction": inf["validation"]["ess_fraction"],
        "validation PSIS k̂": inf["validation"]["pareto_k"],
        "oracle calls: design and active learning (training)": s["evaluation"]["n_points"],
        "oracle calls: all": s["oracle_calls"]["total"],
        "of these, answered by the evaluation cache in this run": s["oracle_calls"]["from_cache"],
        **{f"best fit: {k}": v for k, v in inf["best_fit"]["theta"].items()},
    }
    for label, value in numbers.items():
        assert label in table, (label, sorted(table))
        if value is None:  # not finite (strict JSON has no inf)
            assert table[label] == "n/a", label
        else:
            np.testing.assert_allclose(float(table[label]), value, rtol=1e-5, err_msg=label)
    assert table["posterior validated by the true χ²"] == (
        "yes" if inf["validation"]["passed"] else "no"
    )
    assert table["why active learning stopped"] == s["active_learning"]["stop_reason"]
    assert s["oracle_calls"]["total"] > s["evaluation"]["n_points"]


def test_landing_page_corner_plot_renders(rendered_report, finished_run):
    page = Landing()
    page.feed(rendered_report[0])
    assert page.image is not None, "no corner plot on the landing page"
    # set by the image's onload handler: the browser decoded it, at the PNG's own width
    import matplotlib.image

    png = matplotlib.image.imread(finished_run / "results" / "inference" / "plots" / "corner.png")
    assert int(page.image.get("data-rendered", 0)) == png.shape[1]
    # and the page is drawn: the screenshot is not blank
    shot = matplotlib.image.imread(rendered_report[1])
    assert shot.std() > 0.05
