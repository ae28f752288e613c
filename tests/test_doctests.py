"""The examples in the package's docstrings run and give what they say (doctest)."""

from __future__ import annotations

import doctest
import importlib

import pytest

from conftest import ROOT

PKG = ROOT / "src" / "globalfit"
WITH_EXAMPLES = sorted(
    ".".join(p.relative_to(PKG.parent).with_suffix("").parts).removesuffix(".__init__")
    for p in PKG.rglob("*.py")
    if ">>> " in p.read_text()
)
# the small exact functions must keep examples (Clopper-Pearson, Wilks, priors)
REQUIRED = {
    "globalfit.surrogate.metrics",
    "globalfit.inference.significance",
    "globalfit.inference.priors",
}


def test_the_small_exact_functions_have_examples():
    assert REQUIRED <= set(WITH_EXAMPLES), REQUIRED - set(WITH_EXAMPLES)


@pytest.mark.parametrize("name", WITH_EXAMPLES)
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0, result
