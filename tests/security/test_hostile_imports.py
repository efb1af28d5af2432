"""Hostile workbooks against a real ingest process: bombs are refused before parsing, an oversized sheet gets a
422 naming the limit and writes nothing, the process's memory stays bounded and /healthz keeps answering."""

import asyncio
import io
import re
import threading
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import openpyxl
import pytest
from sqlalchemy import func, select

from shared.auth.security import issue_access_token
from shared.db import make_engine
from shared.orgunits.models import OrgUnit
from tests.support.processes import culturezone, environment, free_port, start_service

MAX_ROWS = 1000
MEMORY_BOUND_KB = 400 * 1024
SHEET = "xl/worksheets/sheet1.xml"
SHEET_HEAD = (
    b'<?xml version="1.0" encoding="UTF-8"?>'
    b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
)
SHEET_TAIL = b"</sheetData></worksheet>"


def xlsx(rows: list[list[object]]) -> bytes:
    """A real workbook holding the rows."""
    book = openpyxl.Workbook()
    for row in rows:
        book.active.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def with_sheet(write_sheet: Callable[[io.BufferedIOBase], None], *, extra_parts: int = 0) -> bytes:
    """A real workbook whose sheet part is written by `write_sheet` (streamed, so a bomb is never held whole)."""
    source, target = zipfile.ZipFile(io.BytesIO(xlsx([["code"]]))), io.BytesIO()
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for part in source.infolist():
            if part.filename == SHEET:
                with archive.open(SHEET, "w") as sheet:
                    write_sheet(sheet)
            else:
                archive.writestr(part.filename, source.read(part))
        for number in range(extra_parts):
            archive.writestr(f"xl/media/image{number}.png", b"")
    return target.getvalue()


def repeated_rows(megabytes: int) -> Callable[[io.BufferedIOBase], None]:
    """A sheet of one cell repeated until it unpacks to about `megabytes` MiB: it packs about a thousand to one."""
    row = (
        b'<row><c t="inlineStr"><is><t>AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA</t></is></c></row>'
    )
    block = row * (1024 * 1024 // len(row))

    def write(sheet: io.BufferedIOBase) -> None:
        sheet.write(SHEET_HEAD)
        for _ in range(megabytes):
            sheet.write(block)
        sheet.write(SHEET_TAIL)

    return write


def units(count: int) -> bytes:
    """An org_units workbook: a city and `count - 1` districts under it."""
    header = ["code", "name", "level", "kind", "parent_code"]
    rows = [["H100", "测试市", 1, "city", None]]
    rows += [[f"H1{number:05d}", f"第{number}区", 2, "district", "H100"] for number in range(1, count)]
    return xlsx([header, *rows])


def peak_memory_kb(pid: int) -> int:
    """The process's peak resident memory (VmHWM), in KiB."""
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"^VmHWM:\s+(\d+) kB", status, re.MULTILINE).group(1))


async def _unit_count(url: str) -> int:
    engine = make_engine(url)
    try:
        async with engine.connect() as connection:
            return await connection.scalar(select(func.count()).select_from(OrgUnit))
    finally:
        await engine.dispose()


@pytest.fixture(scope="module")
def ingest(own_database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int, dict]]:
    """A real ingest process on loopback with a small row limit; its base URL, pid and an admin's header."""
    env = environment(
        database_url=own_database_url, data_dir=tmp_path_factory.mktemp("hostile"), IMPORT_MAX_ROWS=str(MAX_ROWS)
    )
    created = culturezone(
        "create-user", "hostile-admin", "--password", "hostile-admin-pass-1", "--role", "admin", env=env
    )
    assert created.returncode == 0, created.stderr
    user_id = int(re.search(r"\(id (\d+)\)", created.stdout).group(1))
    port = free_port()
    process = start_service("ingest", port=port, env=env)
    try:
        yield (
            f"http://127.0.0.1:{port}",
            process.pid,
            {"Authorization": f"Bearer {issue_access_token(user_id=user_id, role='admin')}"},
        )
    finally:
        process.terminate()
        process.wait(timeout=10)


def _post(base: str, auth: dict, name: str, content: bytes) -> httpx.Response:
    return httpx.post(
        f"{base}/ingest/v1/imports",
        headers=auth,
        data={"kind": "org_units"},
        files={"file": (name, content, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")},
        timeout=300,
    )


def test_hostile_workbooks_are_refused_with_bounded_memory_while_healthz_answers(
    ingest: tuple[str, int, dict], own_database_url: str
) -> None:
    base, pid, auth = ingest
    files = {
        "bomb": with_sheet(repeated_rows(512)),  # a few hundred KB unpacking to 512 MiB
        "ratio": with_sheet(repeated_rows(32)),  # within the unpacked limit, packed a thousand to one
        "parts": with_sheet(repeated_rows(0), extra_parts=1001),
        "oversized": units(MAX_ROWS + 1),  # the header and MAX_ROWS + 1 units: over the limit
        "large": units(MAX_ROWS - 1),  # the header and MAX_ROWS - 1 units: at the limit
    }
    assert len(files["bomb"]) < 2 * 1024 * 1024
    answers: dict[str, httpx.Response] = {}
    probes: list[int] = []
    for name, content in files.items():  # one at a time: SQLite takes one writer, and each is probed alone

        def send(name: str = name, content: bytes = content) -> None:
            answers[name] = _post(base, auth, f"{name}.xlsx", content)

        sender = threading.Thread(target=send)
        sender.start()
        while sender.is_alive():
            probes.append(httpx.get(f"{base}/healthz", timeout=10).status_code)
        sender.join()

    assert probes and set(probes) == {200}
    bomb, ratio, parts, oversized, large = (answers[name] for name in files)
    assert bomb.status_code == 413, bomb.text
    assert bomb.headers["content-type"].startswith("application/problem+json")
    assert "67108864 bytes (IMPORT_MAX_UNCOMPRESSED_BYTES)" in bomb.json()["detail"]
    assert ratio.status_code == 422 and "IMPORT_MAX_COMPRESSION_RATIO" in ratio.json()["detail"], ratio.text
    assert parts.status_code == 422 and "more than the limit of 1000" in parts.json()["detail"], parts.text
    assert oversized.status_code == 422, oversized.text
    assert f"more than {MAX_ROWS} rows" in oversized.json()["errors"][0]["message"]
    assert large.status_code == 201, large.text
    assert sum(large.json()["created"].values()) == MAX_ROWS - 1
    assert asyncio.run(_unit_count(own_database_url)) == MAX_ROWS - 1  # the oversized sheet wrote nothing
    assert peak_memory_kb(pid) < MEMORY_BOUND_KB
