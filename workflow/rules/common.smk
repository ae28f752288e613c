# Named helpers only: config access, round/chunk ids, input functions, code hashes.
import math
import sys
from pathlib import Path

# The package's config/provenance/oracle-spec modules need only the standard library and PyYAML,
# so the Snakefile can use them even when Snakemake runs outside the project's environment.
sys.path.insert(0, str(Path(workflow.basedir) / "src"))
from globalfit import config as gfconfig
from globalfit.oracles import OracleSpec
from globalfit.provenance import hash_object, module_hash, package_version

try:
    gfconfig.check(config)
except gfconfig.ConfigError as e:
    raise WorkflowError(f"invalid config: {e}")

R = config["results"]
CONDA_ENV = "../../envs/globalfit.yaml"  # for --sdm conda; relative to the rule files
N_ROUNDS = 0


def chunk_count(round_index):
    """Number of evaluation jobs of a round (round 0 is the Latin hypercube)."""
    n = config["design"]["n_initial"]
    return math.ceil(n / config["evaluation"]["chunk_size"])


def chunk_ids(round_index):
    return [f"{c:03d}" for c in range(chunk_count(round_index))]


def round_chunks(round_index, kind):
    """Paths of a round's chunk files: kind 'chunks' (to evaluate) or 'evaluated'."""
    return [f"{R}/rounds/{round_index}/{kind}/{c}.h5" for c in chunk_ids(round_index)]


def previous_dataset(wildcards):
    r = int(wildcards.round)
    return [] if r == 0 else [f"{R}/rounds/{r - 1}/dataset.h5"]


def evaluated_chunks(wildcards):
    return round_chunks(int(wildcards.round), "evaluated")


def config_hash(*sections):
    return hash_object({s: config.get(s) for s in sections})


def provenance(*sections):
    """Attributes every artifact carries: what it was made from."""
    return {
        "config_name": config["name"],
        "config_hash": config_hash(*sections),
        "config_sections": list(sections),
        "seeds": {"design": config["design"]["seed"]},
        "oracle": ORACLE.identity(),
        "oracle_hash": ORACLE.identity_hash(),
        "package_version": package_version("globalfit"),
    }


ORACLE = OracleSpec.from_config(config)
EVALUATION_SECTIONS = ("parameters", "oracle", "design", "evaluation")


def evaluate_runtime(wildcards):
    """SLURM time limit (minutes) of one chunk: start-up plus every point at its timeout."""
    e = config["evaluation"]
    return math.ceil((e["setup_timeout"] + e["chunk_size"] * e["timeout"]) / 60) + 1


def final_outputs():
    return [f"{R}/dataset.h5", f"{R}/dataset.csv"]
