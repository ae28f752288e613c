"""Best fit on the surrogate (multi-start), 1-D and 2-D profile likelihoods on one Δχ² reference;
the best fit and the reference point go to the true oracle (the `confirm` batch), and the profiles'
minimisers at their interval crossings and a few interior points too (the `profile_check` batch)."""

from globalfit.threads import pin_threads

pin_threads(1)

import numpy as np

from globalfit.evaluation import EvaluationTable, write_batch
from globalfit.inference import (
    best_fit,
    bound_parameters,
    common_reference,
    profile_1d,
    profile_2d,
    profile_check_points,
    save_profiles,
)
from globalfit.jsonio import write_json
from globalfit.levels import LEVELS_1D
from globalfit.logs import snakemake_log
from globalfit.space import ParameterSpace
from globalfit.surrogate import Surrogate

log = snakemake_log(snakemake)
inf = snakemake.params.inference
space = ParameterSpace.from_config(snakemake.params.parameters)
chi2 = Surrogate.load(snakemake.input.bundle, backend="compiled").predict_chi2
data = EvaluationTable.read(snakemake.input.dataset)
starts = data.best(inf["n_starts"])
best = best_fit(chi2, space, starts, seed=inf["seed"])
log.info("surrogate best fit chi2 %.4f at %s", best.chi2, best.as_dict()["theta"])
profiles = []
for name in space.names:
    profiles.append(
        profile_1d(
            chi2,
            space,
            name,
            best=best,
            starts=starts,
            n_grid=inf["profile_grid"],
            seed=inf["seed"],
        )
    )
    log.info("profile of %s done", name)
pair = tuple(inf.get("profile_pair") or space.names[:2])
two = profile_2d(
    chi2, space, pair, best=best, starts=starts, n_grid=inf["profile_2d_grid"], seed=inf["seed"]
)
reference = common_reference(best.chi2, [*profiles, two])
log.info(
    "profiles measured from chi2 %.4f (the lowest of the best fit and every profile)", reference
)
save_profiles(snakemake.output.profiles, profiles, two)
top = max(LEVELS_1D.values())
at_bound = {
    p.name: {
        f"{x:.6g}": names
        for x, d, names in zip(p.grid, p.delta, bound_parameters(p, space), strict=True)
        if names and d <= top
    }
    for p in profiles
}
plan = []
if inf["profile_checks"]:
    checks, plan = profile_check_points(profiles, inf["profile_checks"])
    write_batch(None, list(snakemake.output.check_chunks), checks, space.names)
write_json(
    snakemake.output.best_fit,
    {
        "best_fit": best.as_dict(),
        "reference_chi2": reference,
        "profiles": {p.name: p.as_dict() for p in profiles},
        "at_bound": at_bound,
        "profile_checks": plan,
    },
)

# the surrogate's few best local minima and the best evaluated point (cached: free): the true
# oracle decides which is the best fit; a surrogate minimum need not beat the data's best point
# (padded with the best minimum: a fixed batch size keeps the chunk files static; repeats cost
# nothing)
n = snakemake.params.n_confirm - 1
confirm = list(best.minima[:n]) + [best.theta] * max(0, n - len(best.minima)) + [data.best(1)[0]]
if inf["reference_point"] is not None:
    confirm.append(np.array([inf["reference_point"][n] for n in space.names], dtype=np.float64))
write_batch(None, list(snakemake.output.chunks), np.array(confirm), space.names)
