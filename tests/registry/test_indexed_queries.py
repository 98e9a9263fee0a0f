"""`ftx jobs list` and `ftx jobs status JOB_ID` ask SQLite for what they show, through indexes:
no listing of every run to keep twenty."""

from __future__ import annotations

from ftx.registry import Registry


def _plan(reg: Registry, sql: str, params: tuple) -> str:
    return " ".join(str(row[-1]) for row in reg._conn.execute("EXPLAIN QUERY PLAN " + sql, params))


def _seed(reg: Registry, n: int) -> None:
    for i in range(n):
        run = reg.create_run(f"r{i}", "openai" if i % 2 else "local", {}, "h")
        if i % 2:
            reg.update_run(run.id, remote_job_id=f"ftjob-{i}")


def test_runs_by_provider_job_id_use_an_index():
    with Registry() as reg:
        _seed(reg, 6)
        assert [r.name for r in reg.find_by_remote_job("ftjob-3")] == ["r3"]
        assert reg.find_by_remote_job("ftjob-404") == []
        plan = _plan(reg, "SELECT * FROM runs WHERE remote_job_id = ?", ("ftjob-3",))
        assert "USING INDEX runs_remote_job" in plan


def test_listing_several_backends_filters_and_limits_in_sql():
    with Registry() as reg:
        _seed(reg, 9)
        hosted = reg.list_runs(limit=2, backends=["openai", "vertex"])
        assert [r.name for r in hosted] == ["r7", "r5"]
        assert reg.list_runs(limit=None, backends=[]) == []
        assert len(reg.list_runs(limit=None, backends=["local"])) == 5


def test_jobs_list_shows_the_newest_hosted_runs_and_finds_a_run_by_job_id(cli):
    import json

    from ftx.cli.jobs import _find_run

    with Registry() as reg:
        _seed(reg, 7)
        assert _find_run(reg, "ftjob-5").name == "r5"
    result = cli("jobs", "list", "--json", "--limit", "2")
    assert result.exit_code == 0, result
    assert [r["name"] for r in json.loads(result.stdout)] == ["r5", "r3"]
