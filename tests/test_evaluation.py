import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from globalfit.chunking import chunk_count, split_chunks
from globalfit.design import latin_hypercube
from globalfit.evaluation import (
    EvaluationCache,
    EvaluationTable,
    OracleSetupError,
    evaluate_points,
    point_key,
)
from globalfit.oracles import OracleSpec
from globalfit.oracles.analytic import AnalyticFunction
from globalfit.space import ParameterSpace

SPACE = ParameterSpace(("x", "y"), np.array([-1.0, -1.0]), np.array([1.0, 1.0]))


def spec(name, **kw):
    return OracleSpec(name, SPACE.names, tuple(SPACE.lower), tuple(SPACE.upper), **kw)


def cache_for(tmp_path, s):
    return EvaluationCache(tmp_path / "cache", s.identity_hash(), s.identity())


@pytest.mark.parametrize("name", ["bowl", "twin_wells", "gaussian"])
def test_analytic_minima_are_minima(name):
    f = AnalyticFunction(name, SPACE)
    (best, chi2_best), *others = f.minima()
    assert f.chi2(best[None])[0] == pytest.approx(chi2_best)
    rng = np.random.default_rng(0)
    assert np.all(f.chi2(rng.uniform(-1, 1, (5000, 2))) >= chi2_best - 1e-12)
    for theta, c in others:  # local minima: any small step goes up
        steps = theta + 1e-3 * rng.normal(size=(100, 2))
        assert np.all(f.chi2(steps) >= c)


def test_wall_spans_decades_like_the_alp_landscape():
    f = AnalyticFunction("twin_wells", SPACE)
    values = f.chi2(latin_hypercube(SPACE, 2000, seed=0))
    assert values.min() < 20 and values.max() > 1e5
    # between the two wells lies wall, not a valley
    assert f.chi2(np.array([[0.0, 0.0]]))[0] > f.minima()[0][1] + 10


def test_latin_hypercube_is_stratified_and_seeded():
    a = latin_hypercube(SPACE, 50, seed=4)
    assert np.array_equal(a, latin_hypercube(SPACE, 50, seed=4))
    assert not np.array_equal(a, latin_hypercube(SPACE, 50, seed=5))
    for j in range(2):
        strata = np.floor(SPACE.to_unit(a)[:, j] * 50).astype(int)
        assert sorted(strata) == list(range(50))


def test_evaluation_matches_the_function_and_keeps_order(tmp_path):
    s = spec("bowl")
    theta = latin_hypercube(SPACE, 12, seed=1)
    table = evaluate_points(theta, s, cache=cache_for(tmp_path, s), timeout=30, jobs=2)
    assert np.array_equal(table.theta, theta)
    np.testing.assert_array_equal(table.chi2, AnalyticFunction("bowl", SPACE).chi2(theta))
    assert list(table.status) == ["ok"] * 12 and not table.cached.any()


def test_failures_are_recorded_and_do_not_stop_the_batch(tmp_path):
    s = spec("plugin", plugin="flaky:chi2", options={"hang": 60.0})
    theta = np.array([[-0.9, 0.0], [0.5, 0.5], [-0.4, 0.1], [0.1, 0.2], [-0.25, 0.0], [0.3, -0.3]])
    table = evaluate_points(theta, s, cache=cache_for(tmp_path, s), timeout=2.0, jobs=1)
    assert list(table.status) == ["error", "ok", "nonfinite", "ok", "timeout", "ok"]
    assert "injected failure" in table.message[0]
    assert (
        table.chi2[1] == pytest.approx(1 + 30 * 0.5)
        and np.isnan(table.chi2[0])
        and np.isnan(table.chi2[4])
    )
    assert table.seconds[4] < 10  # the hung worker was killed, not waited for
    assert list(table.ok) == [False, True, False, True, False, True]
    assert table.breakdown_names == ("norm",) and table.breakdown[1, 0] == pytest.approx(0.5)


def test_setup_failure_is_one_clear_error(tmp_path):
    s = spec("plugin", plugin="flaky:no_such_function")
    with pytest.raises(OracleSetupError, match="no_such_function"):
        evaluate_points(np.zeros((1, 2)), s, cache=None, timeout=5)


def test_cache_serves_every_point_once_whatever_the_chunking(tmp_path):
    s = spec("twin_wells", options={"delay": 0.01})
    cache = cache_for(tmp_path, s)
    theta = latin_hypercube(SPACE, 20, seed=2)
    first = [evaluate_points(theta[sl], s, cache=cache, timeout=30) for sl in split_chunks(20, 4)]
    assert len(cache) == 20
    # a different chunking, a repeated point: zero new oracle calls, identical values
    again = np.vstack([theta, theta[:1]])
    second = [evaluate_points(again[sl], s, cache=cache, timeout=30) for sl in split_chunks(21, 3)]
    assert len(cache) == 20
    assert all(t.cached.all() for t in second)
    np.testing.assert_array_equal(
        EvaluationTable.concat(first).chi2, EvaluationTable.concat(second).chi2[:20]
    )


@pytest.mark.parametrize(
    "n, size, parallel, expected",
    [
        (160, 40, 2, 4),
        (32, 40, 2, 2),
        (200, 40, 2, 6),
        (5, 40, 2, 2),
        (1, 40, 2, 1),
        (60, 10, 4, 8),
        (33, 16, 1, 3),
    ],
)
def test_chunks_are_balanced_bounded_and_a_multiple_of_the_parallel_jobs(
    n, size, parallel, expected
):
    k = chunk_count(n, size, parallel)
    assert k == expected
    slices = split_chunks(n, k)
    sizes = [s.stop - s.start for s in slices]
    assert (
        sum(sizes) == n
        and slices[0].start == 0
        and all(a.stop == b.start for a, b in zip(slices, slices[1:], strict=False))
    )
    assert max(sizes) - min(sizes) <= 1 and max(sizes) <= size and min(sizes) >= 1


def test_chunking_rejects_impossible_requests():
    with pytest.raises(ValueError, match="parallel_chunks"):
        chunk_count(10, 4, 0)
    with pytest.raises(ValueError, match="non-empty"):
        split_chunks(3, 4)


def test_repeated_points_in_one_batch_are_evaluated_once(tmp_path):
    s = spec("bowl")
    cache = cache_for(tmp_path, s)
    theta = np.array([[0.1, 0.2], [0.1, 0.2], [0.3, 0.4]])
    table = evaluate_points(theta, s, cache=cache, timeout=30)
    assert len(cache) == 2 and table.chi2[0] == table.chi2[1]


def test_concurrent_batches_sharing_points_evaluate_each_once(tmp_path):
    # two chunk jobs of one batch running at once, both holding the same points, both missing
    # the cache at the start: each point must still be evaluated by exactly one of them
    s = spec("twin_wells", options={"delay": 0.3})
    theta = latin_hypercube(SPACE, 4, seed=3)
    start = threading.Barrier(2)

    def chunk(order):
        cache = cache_for(tmp_path, s)  # each job opens the cache itself
        start.wait()
        return evaluate_points(theta[order], s, cache=cache, timeout=30)

    with ThreadPoolExecutor(2) as pool:
        a, b = pool.map(chunk, [[0, 1, 2, 3], [0, 1, 2, 3]])
    assert np.all(a.cached != b.cached), (a.cached, b.cached)
    np.testing.assert_array_equal(a.chi2, b.chi2)


def test_oracle_identity_changes_with_options_and_source(tmp_path, monkeypatch):
    a, b = spec("bowl"), spec("bowl", options={"width": 0.2})
    assert a.identity_hash() != b.identity_hash()
    assert a.identity_hash() == spec("bowl").identity_hash()
    assert spec("twin_wells").identity_hash() != a.identity_hash()
    plugin = tmp_path / "myoracle.py"
    plugin.write_text("def f(theta):\n    return 1.0\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    p1 = spec("plugin", plugin="myoracle:f").identity_hash()
    plugin.write_text("def f(theta):\n    return 2.0\n")
    assert spec("plugin", plugin="myoracle:f").identity_hash() != p1


def test_point_key_is_the_float64_bytes():
    x = np.array([0.1, 0.2])
    assert point_key(x) == point_key(np.array([0.1, 0.2], dtype=np.float64))
    assert point_key(x) != point_key(np.nextafter(x, 1))


def test_table_roundtrip(tmp_path):
    s = spec("plugin", plugin="flaky:chi2", options={"hang": 0.0})
    theta = np.array([[-0.9, 0.0], [0.5, 0.5], [-0.4, 0.1]])
    t = evaluate_points(theta, s, cache=None, timeout=10)
    t.write(tmp_path / "t.h5", attrs={"config_hash": "abc", "seeds": {"design": 1}})
    r = EvaluationTable.read(tmp_path / "t.h5")
    assert r.theta.dtype == np.float64 and np.array_equal(r.theta, theta)
    np.testing.assert_array_equal(r.chi2, t.chi2)
    assert list(r.status) == list(t.status) and list(r.message) == list(t.message)
    assert r.attrs["config_hash"] == "abc"


def test_space_check_names_the_culprit():
    with pytest.raises(ValueError, match=r"row 1 has 'y' = 2.0 outside"):
        SPACE.check([[0.0, 0.0], [0.0, 2.0]])
    with pytest.raises(ValueError, match="non-finite value for 'x'"):
        SPACE.check([[np.nan, 0.0]])
    with pytest.raises(ValueError, match=r"expected shape \(n, 2\)"):
        SPACE.check(np.zeros((3, 3)))
