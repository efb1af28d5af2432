"""If-Match against a running API: two updates sent at the same moment with one ETag never both win."""

import asyncio
from pathlib import Path

import httpx

from tests.support.processes import culturezone, environment, free_port, start_service

ROUNDS = 10


async def _race(base: str, auth: dict[str, str], path: str, bodies: list[dict]) -> list[tuple[int, dict]]:
    """Read the row's ETag, then send every body with it at once."""
    async with httpx.AsyncClient(base_url=base, headers=auth, timeout=30) as http:
        etag = (await http.get(path)).headers["ETag"]
        answers = await asyncio.gather(*(http.patch(path, json=body, headers={"If-Match": etag}) for body in bodies))
    return [(answer.status_code, answer.json()) for answer in answers]


def _created(base: str, path: str, auth: dict[str, str], body: dict) -> dict:
    answer = httpx.post(f"{base}{path}", json=body, headers=auth)
    assert answer.status_code == 201, answer.text
    return answer.json()


def test_two_patches_with_one_etag_give_one_200_and_one_412(own_database_url: str, tmp_path: Path) -> None:
    env = environment(database_url=own_database_url, data_dir=tmp_path, SECRET_KEY="lost-update-secret-0123456789")
    made = culturezone("create-user", "office", "--password", "a long passphrase", "--role", "admin", env=env)
    assert made.returncode == 0, made.stderr
    port = free_port()
    api = start_service("api", port=port, env=env)
    try:
        base = f"http://127.0.0.1:{port}"
        login = httpx.post(f"{base}/api/v1/auth/token", data={"username": "office", "password": "a long passphrase"})
        auth = {"Authorization": f"Bearer {login.json()['access_token']}"}
        district = {"code": "410105", "name": "金水区", "level": 2, "kind": "district"}
        unit = _created(base, "/api/v1/org-units", auth, district)
        plan = _created(
            base,
            "/api/v1/plans",
            auth,
            {"name": "工作方案", "org_unit_id": unit["id"], "starts_on": "2018-01-01", "ends_on": "2020-12-31"},
        )
        task = _created(base, f"/api/v1/plans/{plan['id']}/tasks", auth, {"kind": "work_task", "title": "起点"})
        for round_number in range(ROUNDS):
            titles = [f"第{round_number}轮 甲", f"第{round_number}轮 乙"]
            answers = asyncio.run(_race(base, auth, f"/api/v1/tasks/{task['id']}", [{"title": t} for t in titles]))
            assert sorted(status for status, _ in answers) == [200, 412], answers
            winner = next(body["title"] for status, body in answers if status == 200)
            stored = httpx.get(f"{base}/api/v1/tasks/{task['id']}", headers=auth).json()
            assert stored["title"] == winner
    finally:
        api.terminate()
        api.wait(timeout=10)
