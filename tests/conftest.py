"""Test fixtures: a migrated database (PostgreSQL from TEST_DATABASE_URL, else SQLite), a transaction per
test rolled back, the request session overridden, an httpx client over ASGITransport."""

import os
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
_DATA_DIR = Path(tempfile.mkdtemp(prefix="culturezone-test-"))
TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL") or f"sqlite+aiosqlite:///{_DATA_DIR / 'test.db'}"
os.environ["DATABASE_URL"] = TEST_DATABASE_URL
os.environ["DATA_DIR"] = str(_DATA_DIR)
os.environ["SECRET_KEY"] = "test-secret-key-not-for-production-0123456789"
os.environ["DEMO_MODE"] = "false"
# No residents' throttle unless a test turns it on (tests/citizen does, to see the 429).
os.environ["CITIZEN_RATE_PER_SECOND"] = "0"
# The fake webhook receivers and peer instances listen on loopback, which the outbound policy refuses by default
# (tests of the policy itself set their own allowlist).
os.environ["OUTBOUND_ALLOWLIST"] = "127.0.0.0/8,::1"

from httpx import ASGITransport, AsyncClient  # noqa: E402
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession  # noqa: E402

from shared.config import async_url  # noqa: E402
from shared.db import make_engine  # noqa: E402
from shared.db_admin import migrate  # noqa: E402
from tests.support.databases import recreate_database, server_reachable  # noqa: E402

ASYNC_URL = async_url(TEST_DATABASE_URL)
ON_POSTGRES = ASYNC_URL.startswith("postgresql")


def pytest_configure(config: pytest.Config) -> None:
    """Refuse to run quietly without PostgreSQL when CI asks for it."""
    if ON_POSTGRES and not server_reachable(ASYNC_URL):
        message = f"PostgreSQL at {TEST_DATABASE_URL} is unreachable"
        if os.environ.get("CI"):
            raise pytest.UsageError(message + " (CI needs it: failing, not skipping)")
        raise pytest.UsageError(message + "; unset TEST_DATABASE_URL to run on SQLite")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked postgres run only on PostgreSQL."""
    if ON_POSTGRES:
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL (run with TEST_DATABASE_URL)")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    """The test database, created empty and migrated once per run."""
    recreate_database(ASYNC_URL)
    migrate(ASYNC_URL)
    yield ASYNC_URL


@pytest.fixture(scope="session")
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    """One engine for the run."""
    engine = make_engine(database_url)
    yield engine
    await engine.dispose()


@pytest.fixture
async def connection(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A connection whose outer transaction is rolled back after the test."""
    async with engine.connect() as connection:
        transaction = await connection.begin()
        yield connection
        await transaction.rollback()


@pytest.fixture
async def session(connection: AsyncConnection) -> AsyncIterator[AsyncSession]:
    """A session inside the test's transaction; its commits become savepoints."""
    session = AsyncSession(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False)
    yield session
    await session.close()


@pytest.fixture
async def client(session: AsyncSession) -> AsyncIterator[AsyncClient]:
    """An HTTP client for the API and ingest apps, sharing the test's session."""
    from services.api.main import app as api_app
    from services.common.deps import get_session
    from services.ingest.main import app as ingest_app
    from shared.db import keeps_changes

    async def test_session() -> AsyncIterator[AsyncSession]:
        # Each request is its own savepoint: committed when the route returns, rolled back on error,
        # so that rows the test made before the request survive a refused one.
        request = await session.begin_nested()
        try:
            yield session
            await (request.commit() if request.is_active else session.commit())
        except BaseException as error:
            # A service that ended its reading transaction early (a login before hashing) has closed the savepoint:
            # what it does afterwards is the session's own savepoint.
            if keeps_changes(error):
                await (request.commit() if request.is_active else session.commit())
            else:
                await (request.rollback() if request.is_active else session.rollback())
            raise

    for app in (api_app, ingest_app):
        app.dependency_overrides[get_session] = test_session
    transport = ASGITransport(app=_Router(api_app, ingest_app))
    async with AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http
    for app in (api_app, ingest_app):
        app.dependency_overrides.clear()


class _Router:
    """Send /ingest to the ingest app and everything else to the API, as nginx does in production."""

    def __init__(self, api: object, ingest: object) -> None:
        self.api, self.ingest = api, ingest

    async def __call__(self, scope: dict, receive: object, send: object) -> None:
        target = self.ingest if scope.get("path", "").startswith("/ingest/") else self.api
        await target(scope, receive, send)  # type: ignore[operator]


@pytest.fixture
def data_dir() -> Path:
    """DATA_DIR of this run."""
    return _DATA_DIR


@pytest.fixture
def fixtures() -> Path:
    """Example files the tests read (tests/fixtures; their sources in its README)."""
    return ROOT / "tests" / "fixtures"


@pytest.fixture(scope="module")
def own_database_url(database_url: str, request: pytest.FixtureRequest) -> str:
    """A separate migrated database for tests whose processes really commit (CLI, scheduler)."""
    module = request.module.__name__.rsplit(".", 1)[-1]
    if not ON_POSTGRES:
        url = f"sqlite+aiosqlite:///{_DATA_DIR / module}.db"
    else:
        # Named after the run's database, so that runs against different databases never share one.
        base, main_name = database_url.rsplit("/", 1)
        url = f"{base}/{main_name}_{module}"
    recreate_database(url)
    migrate(url)
    return url
