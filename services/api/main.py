"""The API service: REST for people, mini-programs and peers."""

from services.api.routes import (
    activities,
    audit,
    auth,
    facilities,
    federation,
    indicators,
    org_units,
    plans,
    statistics,
    tasks,
)
from services.common.app import create_service_app

app = create_service_app(
    title="CultureZone API",
    description=(
        "REST API of CultureZone, the platform for creating and running a national public cultural "
        "service system demonstration zone: org units, plans and their task tables, progress and evidence."
    ),
    service="api",
)
for module in (auth, org_units, plans, tasks, facilities, statistics, activities, indicators, audit, federation):
    app.include_router(module.router)
app.include_router(federation.peer_router)
