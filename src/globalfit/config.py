"""Config loading and the checks a JSON schema cannot express.

Only the standard library, PyYAML and jsonschema are imported here, so the Snakefile can use this
module (via ``src/`` on sys.path) in a Snakemake environment without the scientific stack.
"""

from __future__ import annotations

import copy
import inspect
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import yaml

from globalfit.features import FeatureMap

__all__ = [
    "ALP_FEATURES",
    "ALP_OPTIONS",
    "ALP_PARAMETERS",
    "ANALYTIC",
    "ConfigError",
    "EXACT",
    "SCHEMA_PATH",
    "cache_dir",
    "canonical",
    "check",
    "fill_dependent_defaults",
    "load",
    "load_schema",
    "section_kwargs",
    "validate_schema",
]

SCHEMA_PATH = Path(__file__).resolve().parents[2] / "workflow" / "schemas" / "config.schema.yaml"
ANALYTIC = ("bowl", "twin_wells", "gaussian")
#: oracle name "exact": the problems of globalfit.oracles.exact, as {problem: (least d, options)}
EXACT = {
    "correlated_gaussian": (1, ("seed",)),
    "two_wells": (1, ("share", "sd", "offset")),
    "unequal_wells": (2, ()),
    "curved_valley": (2, ("curvature", "cliff")),
}
ALP_OPTIONS = {"ma", "sectors"}
#: The surrogate inputs the ALP oracle derives from ALP-aca (globalfit.oracles.alp_features):
#: {name: the features it is built on, which must be listed before it}.
ALP_FEATURES = {
    "c_mumu_over_fa": (),
    "c_bs_over_fa": (),
    "c_gg_over_fa": (),
    "width": ("c_mumu_over_fa", "c_gg_over_fa"),
    "br_a_mumu": ("c_mumu_over_fa", "width"),
    "b_to_k_mumu": ("c_bs_over_fa", "br_a_mumu"),
    "b_to_k_invisible": ("c_bs_over_fa", "width"),
}


class ConfigError(ValueError):
    """A config that cannot be run; the message names the offending key."""


def load_schema(path: Path | str = SCHEMA_PATH) -> dict:
    with open(path) as f:
        return yaml.safe_load(f)


def validate_schema(config: dict, schema: dict | None = None) -> dict:
    """Validate against the JSON schema and fill defaults (as snakemake.utils.validate does)."""
    import jsonschema

    schema = schema or load_schema()
    validator_cls = jsonschema.validators.validator_for(schema)

    def set_defaults(validator, properties, instance, sch):
        if isinstance(instance, dict):
            for key, sub in properties.items():
                if "default" in sub and key not in instance:
                    instance[key] = copy.deepcopy(sub["default"])
        yield from validator_cls.VALIDATORS["properties"](validator, properties, instance, sch)

    filling = jsonschema.validators.extend(validator_cls, {"properties": set_defaults})
    config = copy.deepcopy(config)
    errors = sorted(filling(schema).iter_errors(config), key=lambda e: list(e.absolute_path))
    if errors:
        e = errors[0]
        where = ".".join(str(p) for p in e.absolute_path) or "(top level)"
        raise ConfigError(f"config key {where}: {e.message}")
    return config


def fill_dependent_defaults(config: dict) -> dict:
    """Defaults that depend on other keys (the schema's own are constants), in place:
    ``inference.dof`` null -> the number of parameters."""
    inference = config.setdefault("inference", {})
    if inference.get("dof") is None:
        inference["dof"] = len(config.get("parameters", []))
    return config


def check(config: Mapping[str, Any]) -> None:
    """Semantic checks after schema validation; raises ConfigError naming the key."""
    params = config["parameters"]
    seen = set()
    for i, p in enumerate(params):
        key = f"parameters[{i}] ({p['name']})"
        if p["name"] in seen:
            raise ConfigError(f"{key}: duplicate parameter name")
        seen.add(p["name"])
        if not p["lower"] < p["upper"]:
            raise ConfigError(
                f"{key}: lower bound {p['lower']} must be below upper bound {p['upper']}"
            )
        prior = p.get("prior", {})
        if prior.get("type") == "gaussian" and ("mean" not in prior or "sd" not in prior):
            raise ConfigError(f"{key}.prior: a gaussian prior needs mean and sd")
    oracle = config["oracle"]
    name = oracle["name"]
    options = oracle.get("options", {}) or {}
    if name == "plugin":
        if not oracle.get("plugin"):
            raise ConfigError("oracle.plugin: name=plugin needs `module:function`")
    elif oracle.get("plugin"):
        raise ConfigError(f"oracle.plugin: only used with name=plugin, not {name!r}")
    if name == "alp":
        unknown = set(options) - ALP_OPTIONS
        if unknown:
            raise ConfigError(
                f"oracle.options: unknown ALP option(s) {sorted(unknown)}; known: "
                f"{sorted(ALP_OPTIONS)}"
            )
        ma = options.get("ma", 2.0)
        if not isinstance(ma, (int, float)) or ma <= 0:
            raise ConfigError(
                f"oracle.options.ma: the ALP mass must be a positive number of GeV, got {ma!r}"
            )
        names = [p["name"] for p in params]
        if sorted(names) != sorted(ALP_PARAMETERS):
            raise ConfigError(
                f"parameters: the alp oracle needs exactly {list(ALP_PARAMETERS)}, got {names}"
            )
    if name == "exact":
        _check_exact(options, params)
    if name in ANALYTIC and "delay" in options and not options["delay"] >= 0:
        raise ConfigError("oracle.options.delay: must be >= 0 seconds")
    al, n_design = config.get("active_learning", {}), config.get("design", {}).get("n_initial")
    max_calls = al.get("max_calls")
    if max_calls is not None and n_design is not None and max_calls <= n_design:
        raise ConfigError(
            f"active_learning.max_calls: a budget of {max_calls} training calls leaves none for "
            f"the rounds after the design's {n_design} (design.n_initial)"
        )
    names = [p["name"] for p in params]
    # the oracle's features stand in as inputs: their expressions exist only after a job
    inputs = names + _check_oracle_features(config)
    try:
        FeatureMap(inputs, config.get("surrogate", {}).get("features", []))
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    _check_points(config)


def _check_exact(options: Mapping[str, Any], params: list) -> None:
    """oracle name exact: a known problem, its own options, and the box its answers are exact on."""
    problem = options.get("problem")
    if problem not in EXACT:
        raise ConfigError(f"oracle.options.problem: {problem!r} is not one of {sorted(EXACT)}")
    least_d, allowed = EXACT[problem]
    unknown = set(options) - set(allowed) - {"problem"}
    if unknown:
        raise ConfigError(
            f"oracle.options: unknown option(s) {sorted(unknown)} for {problem!r}; known: "
            f"{sorted(allowed)}"
        )
    if len(params) < least_d:
        raise ConfigError(f"parameters: the exact problem {problem!r} needs d ≥ {least_d}")
    h = params[0]["upper"]
    for i, p in enumerate(params):
        if p["lower"] != -h or p["upper"] != h:
            raise ConfigError(
                f"parameters[{i}] ({p['name']}): an exact problem's answers hold on a box "
                f"[−h, h]^d with one h; got [{p['lower']}, {p['upper']}], parameters[0] has "
                f"[{params[0]['lower']}, {h}]"
            )


def _check_oracle_features(config: Mapping[str, Any]) -> list[str]:
    """surrogate.oracle_features: ones the oracle offers, each after those it is built on."""
    wanted = list(config.get("surrogate", {}).get("oracle_features", []))
    if not wanted:
        return wanted
    offered = ALP_FEATURES if config["oracle"]["name"] == "alp" else {}
    for i, name in enumerate(wanted):
        if name not in offered:
            raise ConfigError(
                f"surrogate.oracle_features: the {config['oracle']['name']} oracle offers no "
                f"feature {name!r} (it offers: {', '.join(offered) or 'none'})"
            )
        missing = [n for n in offered[name] if n not in wanted[:i]]
        if missing:
            raise ConfigError(
                f"surrogate.oracle_features: {name!r} is built on {missing}, which must be "
                "listed before it"
            )
    return wanted


def _check_points(config: Mapping[str, Any]) -> None:
    """Config values that name parameters or give a point: names known, points inside the box."""
    params = config["parameters"]
    names = [p["name"] for p in params]
    inference = config.get("inference", {}) or {}
    pair = inference.get("profile_pair")
    if pair is not None:
        unknown = [n for n in pair if n not in names]
        if unknown:
            raise ConfigError(
                f"inference.profile_pair: unknown parameter(s) {unknown}; known: {names}"
            )
        if pair[0] == pair[1]:
            raise ConfigError(f"inference.profile_pair: the two parameters are both {pair[0]!r}")
    dof = inference.get("dof")  # None: the number of parameters (fill_dependent_defaults)
    if dof is not None and dof > len(names):
        raise ConfigError(
            f"inference.dof: {dof} degrees of freedom for {len(names)} parameters; the Wilks "
            "table runs over 1 ... number of parameters"
        )
    ref = inference.get("reference_point")
    if ref is not None:
        key = "inference.reference_point"
        unknown = sorted(set(ref) - set(names))
        missing = [n for n in names if n not in ref]
        if unknown:
            raise ConfigError(f"{key}: unknown parameter(s) {unknown}; known: {names}")
        if missing:
            raise ConfigError(f"{key}: no value for parameter(s) {missing}")
        for p in params:
            value = ref[p["name"]]
            # the box is closed: a point on its edge (log10 fa = 8 for the ALP fit) is inside
            if not p["lower"] <= value <= p["upper"]:
                raise ConfigError(
                    f"{key}.{p['name']}: {value} is outside the box [{p['lower']}, {p['upper']}]"
                )


ALP_PARAMETERS = ("cqL33", "cuR", "cdR", "clL33", "ceR", "log10_fa")


def load(path: Path | str, overrides: Mapping[str, Any] | None = None) -> dict:
    """Read a YAML config, validate it, fill defaults and run the semantic checks."""
    with open(path) as f:
        raw = yaml.safe_load(f) or {}
    if overrides:
        raw = {**raw, **overrides}
    config = fill_dependent_defaults(validate_schema(raw))
    check(config)
    return config


def canonical(obj: Any) -> Any:
    """A copy with every mapping's keys sorted (lists keep their order)."""
    if isinstance(obj, Mapping):
        return {k: canonical(obj[k]) for k in sorted(obj)}
    if isinstance(obj, list):
        return [canonical(v) for v in obj]
    return obj


def cache_dir(config: Mapping[str, Any]) -> str:
    """The evaluation cache directory: evaluation.cache_dir, or <results>/cache when empty."""
    return config["evaluation"]["cache_dir"] or f"{config['results']}/cache"


def section_kwargs(
    section: Mapping[str, Any],
    *functions: Callable,
    rename: Mapping[str, str] | None = None,
    convert: Mapping[str, Callable[[Any], Any]] | None = None,
) -> dict:
    """Keyword arguments for ``functions`` taken from one config section.

    The one way the scripts turn config into calls: a key becomes an argument when its name (after
    ``rename``) is a named parameter of one of ``functions``; other keys belong to other rules
    reading the same section and are left out. The schema has already rejected unknown keys, so
    nothing misspelt can be dropped silently here.

    Parameters
    ----------
    section : mapping
        A validated config section, e.g. ``config["inference"]``.
    *functions : callables
        The functions (or classes) the arguments are for; their signatures name the keys taken.
    rename : mapping, optional
        {config key: parameter name} where the two differ.
    convert : mapping, optional
        {parameter name: callable} applied to the value (e.g. ``tuple`` for a YAML list).

    Returns
    -------
    dict
        {parameter name: value}, in the section's order.

    Examples
    --------
    >>> def sample(x, *, n_steps=10, seed=0):
    ...     pass
    >>> section_kwargs({"n_steps": 5, "seed": 3, "top_k": 8}, sample)
    {'n_steps': 5, 'seed': 3}
    >>> section_kwargs({"posterior_steps": 5}, sample, rename={"posterior_steps": "n_steps"})
    {'n_steps': 5}
    """
    rename = dict(rename or {})
    convert = dict(convert or {})
    named = set()
    for function in functions:
        for p in inspect.signature(function).parameters.values():
            if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY):
                named.add(p.name)
    out = {}
    for key, value in section.items():
        name = rename.get(key, key)
        if name in named:
            out[name] = convert[name](value) if name in convert else value
    return out
