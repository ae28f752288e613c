"""The report's landing page: the answer first, from ``run_summary.json``.

Snakemake shows the workflow description (the Snakefile's ``report:`` file, reStructuredText) on
the report's first page. Rule ``report_pages`` writes that description for a finished run: a
verdict sentence, the headline table (best fit, Δχ² and significance, Bayes factor, validation,
oracle calls and why active learning stopped) and the corner plot, embedded so the report stays
one self-contained file. Every number is the summary's, printed with 6 significant digits, so a
reader (and tests/test_report_browser.py) can check it against the JSON.
"""

from __future__ import annotations

import base64
import html
import json
import math
from collections.abc import Mapping

import pandas as pd

from globalfit.reporting import _get, fmt

__all__ = ["flat_summary", "headline_rows", "html_table", "render_landing"]

DIGITS = 6
_MISSING = object()


def headline_rows(summary: Mapping, parameters: list[str]) -> list[tuple[str, str]]:
    """(label, value) rows of the landing table; rows whose key the run lacks are left out.

    Parameters
    ----------
    summary : mapping
        The run summary.
    parameters : list of str
        Parameter names in config order (the best fit's rows).

    Returns
    -------
    list of (str, str)
    """
    sig = "inference.significance"
    dof = _get(summary, f"{sig}.dof")
    rows = [
        ("best-fit χ² (true oracle)", "inference.best_fit.chi2_true"),
        *((f"best fit: {p}", f"inference.best_fit.theta.{p}") for p in parameters),
        ("reference-point χ² (the null hypothesis)", f"{sig}.chi2_reference"),
        ("Δχ² (reference − best fit)", f"{sig}.delta_chi2"),
        ("local significance √Δχ²", f"{sig}.local_z"),
        ("local p-value", f"{sig}.local_p"),
        (f"Wilks Z, χ²({dof})", f"{sig}.wilks_z"),
        ("ln Bayes factor vs the reference point", "inference.bayes_factor.log_b"),
        ("± (ln Bayes factor)", "inference.bayes_factor.log_b_err"),
        ("posterior validated by the true χ²", "inference.validation.passed"),
        ("validation ESS fraction", "inference.validation.ess_fraction"),
        ("validation PSIS k̂", "inference.validation.pareto_k"),
        ("oracle calls: design and active learning (training)", "oracle_calls.training"),
        ("oracle calls: posterior validation", "oracle_calls.validation"),
        ("oracle calls: best-fit confirmation", "oracle_calls.confirm"),
        ("oracle calls: profile checks", "oracle_calls.profile_check"),
        ("oracle calls: all", "oracle_calls.total"),
        ("of these, answered by the evaluation cache in this run", "oracle_calls.from_cache"),
        ("active-learning rounds (GP + posterior)", "active_learning.rounds"),
        ("why active learning stopped", "active_learning.stop_reason"),
    ]
    out = []
    for label, key in rows:
        value = _get(summary, key, _MISSING)
        if value is not _MISSING:  # a null (a k̂ of inf in strict JSON) shows as n/a
            out.append((label, _number(value)))
    return out


def _number(value) -> str:
    """6 significant digits whatever the magnitude (``reporting.fmt`` keeps 4 from 10⁴ on)."""
    if isinstance(value, float) and math.isfinite(value):
        return f"{value:.{DIGITS}g}"
    return fmt(value)


def _verdict(summary: Mapping) -> str:
    passed = _get(summary, "inference.validation.passed")
    sentence = _get(summary, "inference.validation.sentence") or ""
    if passed is None:
        return "The posterior was not validated against the true χ²."
    head = "**Validated.**" if passed else "**Not validated: do not quote this posterior.**"
    return f"{head} {sentence}".strip()


def render_landing(summary: Mapping, parameters: list[str], corner_png: bytes | None) -> str:
    """The landing page as reStructuredText (Snakemake renders it through Jinja and docutils).

    Parameters
    ----------
    summary : mapping
        The run summary.
    parameters : list of str
        Parameter names in config order.
    corner_png : bytes or None
        The corner plot, embedded as a data URI; its ``onload`` marks the image as decoded
        (``data-rendered`` = its pixel width), which a headless browser can read back.

    Returns
    -------
    str
    """
    title = f"Fit ``{_get(summary, 'config_name')}``"
    lines = [
        title,
        "=" * len(title),
        "",
        f"Config hash ``{_get(summary, 'config_hash')}``, commit ``{_get(summary, 'commit')}``, "
        f"package {_get(summary, 'package_version')}, {_get(summary, 'machine')}.",
        "",
        _verdict(summary).replace("\n", " "),
        "",
        ".. list-table:: The answer",
        "   :header-rows: 1",
        "   :class: landing-headline",
        "",
        "   * - quantity",
        "     - value",
    ]
    for label, value in headline_rows(summary, parameters):
        lines += [f"   * - {label}", f"     - {value}"]
    lines.append("")
    if corner_png:
        # docutils refuses lines over 10⁴ characters; a URL's line breaks are dropped by the
        # browser's URL parser, so the data URI may span lines
        data = base64.encodebytes(corner_png).decode("ascii").split()
        lines += [
            ".. raw:: html",
            "",
            '   <figure><img id="landing-corner" alt="corner plot of the posterior" '
            'style="width:100%" onload="this.dataset.rendered = this.naturalWidth" '
            'src="data:image/png;base64,',
            *(f"   {chunk}" for chunk in data),
            '   "><figcaption>The posterior (corner plot; its caption and the other plots '
            "are under Inference).</figcaption></figure>",
            "",
        ]
    lines += [
        "Everything else is grouped by stage in the menu: the evaluations and the per-round "
        "active-learning diagnostics, the surrogate's metrics, the inference (profiles, "
        "validation, ALP observables) and the explanations; the run summary is under Summary.",
        "",
    ]
    return "\n".join(lines)


def flat_summary(summary: Mapping, prefix: str = "") -> pd.DataFrame:
    """The run summary as (key, value) rows, nested keys dotted, lists as JSON: the report's
    table of every number.

    Parameters
    ----------
    summary : mapping
        The run summary.
    prefix : str
        Dotted path of ``summary`` itself ("" at the top).

    Returns
    -------
    DataFrame with columns ``key`` and ``value``
    """
    rows = []
    for k, v in summary.items():
        key = f"{prefix}{k}"
        if isinstance(v, Mapping):
            rows.append(flat_summary(v, f"{key}."))
        else:
            text = json.dumps(v, ensure_ascii=False) if isinstance(v, list) else _number(v)
            rows.append(pd.DataFrame({"key": [key], "value": [text]}))
    return pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(columns=["key", "value"])


def html_table(table: pd.DataFrame, title: str) -> str:
    """A standalone HTML page holding one table (the report shows HTML results inline).

    Parameters
    ----------
    table : DataFrame
        The rows to show.
    title : str
        Page title and heading.

    Returns
    -------
    str
    """
    style = (
        "body{font-family:sans-serif;font-size:13px} table{border-collapse:collapse} "
        "td,th{border:1px solid #ccc;padding:2px 6px;text-align:left} "
        "tr:nth-child(even){background:#f6f6f6}"
    )
    return (
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"<style>{style}</style></head><body><h3>{html.escape(title)}</h3>"
        f"{table.to_html(index=False, border=0)}</body></html>\n"
    )
