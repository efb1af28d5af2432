"""The console command against a real database, as an operator runs it."""

from pathlib import Path

import httpx
import pytest

from tests.support.processes import culturezone, environment, free_port, start_service

TASKS_CSV = (
    "序号,工作任务,具体内容,责任单位,完成时间\n1,建立机制,1.1 设立小组。 1.2 制定制度。,▲宣传办各社区,2018年 2019年\n"
)
UNITS_CSV = (
    "code,name,level,kind,parent_code,opened_on,closed_on\n410100,郑州市,1,city,,,\n"
    "410105,金水区,2,district,410100,,\n410105001000,经八路街道,3,street,410105,2018-01-01,\n"
)


@pytest.fixture(scope="module")
def env(own_database_url: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Settings of the operator's shell."""
    return environment(
        database_url=own_database_url,
        data_dir=tmp_path_factory.mktemp("cli"),
        SECRET_KEY="cli-test-secret-0123456789abcdef",
        DEMO_MODE="false",
    )


def test_an_operator_sets_up_users_units_and_a_task_table(env: dict[str, str], tmp_path: Path) -> None:
    assert culturezone("migrate", env=env).returncode == 0
    units = tmp_path / "units.csv"
    units.write_text(UNITS_CSV)
    imported = culturezone("import", "org_units", str(units), env=env)
    assert imported.returncode == 0, imported.stderr
    assert '"created": 3' in imported.stdout.replace("\n", "").replace("  ", " ") or '"created": 3' in imported.stdout
    made = culturezone(
        "create-user",
        "office",
        "--password",
        "a long passphrase",
        "--role",
        "plan_manager",
        "--org-unit",
        "410105",
        env=env,
    )
    assert made.returncode == 0, made.stderr
    refused = culturezone(
        "create-user", "ghost", "--password", "a long passphrase", "--role", "viewer", "--org-unit", "999999", env=env
    )
    assert refused.returncode != 0 and "999999" in refused.stderr
    port = free_port()
    api = start_service("api", port=port, env=env)
    try:
        base = f"http://127.0.0.1:{port}"
        token = httpx.post(
            f"{base}/api/v1/auth/token", data={"username": "office", "password": "a long passphrase"}
        ).json()["access_token"]
        auth = {"Authorization": f"Bearer {token}"}
        district = httpx.get(f"{base}/api/v1/org-units", params={"code": "410105"}, headers=auth).json()["items"][0]
        plan = httpx.post(
            f"{base}/api/v1/plans",
            headers=auth,
            json={"name": "方案", "org_unit_id": district["id"], "starts_on": "2018-01-01", "ends_on": "2020-12-31"},
        )
        assert plan.status_code == 201
        table = tmp_path / "tasks.csv"
        table.write_text(TASKS_CSV)
        result = culturezone("import", "tasks", str(table), "--plan-id", str(plan.json()["id"]), env=env)
        assert result.returncode == 0, result.stderr
        tasks = httpx.get(f"{base}/api/v1/plans/{plan.json()['id']}/tasks", headers=auth).json()["items"]
        assert [(t["code"], t["due_date"]) for t in tasks] == [
            ("1", "2019-12-31"),
            ("1.1", "2018-12-31"),
            ("1.2", "2019-12-31"),
        ]
        assert [(a["name"], a["is_lead"]) for a in tasks[1]["assignees"]] == [("宣传办", True), ("各社区", False)]
        again = culturezone("import", "tasks", str(table), "--plan-id", str(plan.json()["id"]), env=env)
        assert again.returncode == 2 and "already exists" in again.stderr
    finally:
        api.terminate()
        api.wait(timeout=10)


def test_services_refuse_to_start_without_a_secret_outside_demo_mode(env: dict[str, str]) -> None:
    without = {key: value for key, value in env.items() if key != "SECRET_KEY"}
    port = free_port()
    with pytest.raises(RuntimeError):
        start_service("api", port=port, env=without)


def test_a_setting_that_cannot_be_read_is_named_and_nothing_runs(env: dict[str, str]) -> None:
    wrong = env | {"FEDERATION_PAGE_LIMIT": "10000", "API_PORT": "eighty", "LOG_LEVEL": "verbose"}
    result = culturezone("sync", env=wrong)
    assert result.returncode == 2
    assert result.stdout == ""  # no pull round ran
    assert "refused: the setting API_PORT ('eighty'): Input should be a valid integer" in result.stderr
    assert "refused: the setting FEDERATION_PAGE_LIMIT ('10000'): Input should be less than or equal to 5000" in (
        result.stderr
    )
    assert "refused: the setting LOG_LEVEL ('verbose'): Input should be 'critical', 'error', 'warning', 'info' or " in (
        result.stderr
    )
    assert "Traceback" not in result.stderr
