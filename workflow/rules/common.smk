# Named helpers only: config access, round/chunk ids, input functions, code hashes.
import math
import sys
from pathlib import Path

from snakemake.sourcecache import LocalSourceFile

# This workflow's own files, wherever Snakemake reads them from: the checkout, or (deployed as a
# module, config/README.md) a git ref that is not a working tree. workflow.basedir would be the
# deploying workflow's folder then.
WORKFLOW_ROOT = workflow.current_basedir.join("../..")
if isinstance(WORKFLOW_ROOT, LocalSourceFile):
    # The package's config/provenance/oracle-spec modules need only the standard library and
    # PyYAML, so the Snakefile can use them even when Snakemake runs outside the project's
    # environment. A deployed module imports the installed package instead.
    sys.path.insert(
        0, str(Path(WORKFLOW_ROOT.get_path_or_uri(secret_free=True)) / "src")
    )
from globalfit import config as gfconfig
from globalfit.oracles import OracleSpec
from globalfit.provenance import code_hash, hash_object, package_version
from globalfit.chunking import chunk_count

try:
    gfconfig.fill_dependent_defaults(config)
    gfconfig.check(config)
except gfconfig.ConfigError as e:
    raise WorkflowError(f"invalid config: {e}")

# Params are compared by their text: sort every mapping so that reordering keys in a YAML file
# does not rerun anything.
_canonical = gfconfig.canonical(config)
config.clear()
config.update(_canonical)

R = config["results"]
LANDING = f"{R}/report/landing.rst"  # the report's first page (rule report_pages)
CONDA_ENV = "../../envs/globalfit.yaml"  # for --sdm conda; relative to the rule files
AL = config["active_learning"]
INF = config["inference"]
N_CONFIRM = 5  # true-oracle candidates for the best fit: 4 surrogate minima + the best evaluated point
N_GP_ROUNDS = AL["rounds"]
# posterior rounds come last; both counts are maxima (adaptive stopping empties later rounds)
N_ROUNDS = N_GP_ROUNDS + AL["posterior_rounds"]
# a posterior round passes the check that the final validation applies
STOP_THRESHOLDS = {
    k: config["inference"][k] for k in ("ess_threshold", "pareto_k_threshold")
}


def rounds_regex(first, last):
    """Wildcard constraint matching the round numbers first..last (a never-matching one if none)."""
    return "|".join(str(r) for r in range(first, last + 1)) or "(?!)"


def batch_size(batch):
    """Points of an evaluation batch: rounds/0 (Latin hypercube), rounds/<r>, confirm,
    profile_check, validation, derived."""
    if batch == "rounds/0":
        return config["design"]["n_initial"]
    if batch.startswith("rounds/"):
        return AL["batch_size"]
    if batch == "confirm":
        return N_CONFIRM + (INF["reference_point"] is not None)
    if batch == "profile_check":
        return INF["profile_checks"] * len(config["parameters"])
    if batch == "validation":
        return INF["validation_samples"]
    if batch == "derived":
        return INF["derived_samples"]
    raise ValueError(f"unknown evaluation batch {batch!r}")


CHUNKING = {k: config["evaluation"][k] for k in ("chunk_size", "parallel_chunks")}


def chunk_ids(batch):
    if batch_size(batch) == 0:  # a batch switched off in config (profile_checks: 0)
        return []
    n = chunk_count(batch_size(batch), **CHUNKING)
    return [f"{c:03d}" for c in range(n)]


def batch_chunks(batch, kind):
    """Chunk files of a batch: kind 'chunks' (to evaluate) or 'evaluated'."""
    return [f"{R}/{batch}/{kind}/{c}.h5" for c in chunk_ids(batch)]


def previous_dataset(wildcards):
    r = int(wildcards.round)
    return [] if r == 0 else [f"{R}/rounds/{r - 1}/dataset.h5"]


def round_evaluated_chunks(wildcards):
    return batch_chunks(f"rounds/{wildcards.round}", "evaluated")


def previous_info(wildcards):
    """The round before's proposal: the stopping record so far, and what its batch predicted."""
    r = int(wildcards.round)
    return [] if r <= 1 else [f"{R}/rounds/{r - 1}/proposal_info.json"]


def previous_state(wildcards):
    """The GP hyperparameters of the round before, to warm-start this round's fit."""
    r = int(wildcards.round)
    return [] if r <= 1 else [f"{R}/rounds/{r - 1}/gp_state.json"]


def script_code(script):
    """A rule's code param: the hash of the package modules its script reaches through imports
    (derived from the sources, so no list is kept by hand)."""
    source = WORKFLOW_ROOT.join(f"workflow/scripts/{script}")
    if isinstance(source, LocalSourceFile):
        return code_hash(source.get_path_or_uri(secret_free=True))
    return code_hash(workflow.sourcecache.get_path(source))


def config_hash(*sections):
    return hash_object({s: config.get(s) for s in sections})


def provenance(*sections):
    """Attributes every artifact carries: what it was made from."""
    return {
        "config_name": config["name"],
        "config_hash": config_hash(*sections),
        "config_sections": list(sections),
        "seeds": {"design": config["design"]["seed"], "active_learning": AL["seed"]},
        "oracle": ORACLE.identity(),
        "oracle_hash": ORACLE.identity_hash(),
        "package_version": package_version("globalfit"),
    }


ORACLE = OracleSpec.from_config(config)
EVALUATION_SECTIONS = (
    "parameters",
    "oracle",
    "design",
    "evaluation",
    "active_learning",
)
# what run_summary.json (and the landing page that quotes it) depends on
RUN_SUMMARY_HASH = config_hash(*EVALUATION_SECTIONS, "surrogate", "inference")


def evaluate_runtime(wildcards, attempt):
    """SLURM time limit (minutes) of one chunk: start-up plus every point at its timeout, times
    the attempt (a retried job was killed once already)."""
    e = config["evaluation"]
    return attempt * (
        math.ceil((e["setup_timeout"] + e["chunk_size"] * e["timeout"]) / 60) + 1
    )


def oracle_features_file(wildcards):
    """The expressions of the features the oracle derives, where the config asks for any."""
    return (
        [f"{R}/surrogate_inputs/oracle_features.json"]
        if config["surrogate"]["oracle_features"]
        else []
    )


def derived_values(wildcards):
    """Low-energy couplings from ALP-aca's running, on a thinned posterior subset (ALP only)."""
    if ORACLE.name != "alp":
        return []
    return [f"{R}/derived/values/{c}.h5" for c in chunk_ids("derived")]


def al_outputs():
    if N_ROUNDS == 0:
        return []
    return [
        f"{R}/active_learning/diagnostics.csv",
        f"{R}/active_learning/diagnostics.png",
    ]


def plot_outputs(wildcards=None):
    """Every plot and table of the report except the run summary."""
    return [
        f"{R}/evaluation/summary.csv",
        *al_outputs(),
        f"{R}/surrogate_plots/metrics.json",
        f"{R}/inference/plots/corner.png",
        *(
            [f"{R}/inference/plots/corner_{k}.png" for k in ("derived", "observables")]
            if ORACLE.name == "alp"
            else []
        ),
    ]


def explain_outputs(wildcards=None):
    return [f"{R}/explain/importance.json", f"{R}/explain/plots/importance_bars.png"]


def final_outputs():
    return [
        f"{R}/run_summary.json",
        LANDING,
        f"{R}/dataset.csv",
        *plot_outputs(),
        *explain_outputs(),
    ]


def landing_is_current():
    """A landing page written from the present run summary, of the present config (after a
    config change the old page would answer for another fit)."""
    landing, summary = Path(LANDING), Path(f"{R}/run_summary.json")
    if not (landing.exists() and summary.exists()):
        return False
    if landing.stat().st_mtime < summary.stat().st_mtime:
        return False
    with landing.open() as f:  # the hash is in the page's head; the corner plot follows
        return RUN_SUMMARY_HASH in f.read(2000)
