"""The API service: REST for people, mini-programs and peers."""

from starlette.middleware import Middleware

from services.api.routes import (
    activities,
    audit,
    auth,
    bookings,
    catalogue,
    citizens,
    facilities,
    federation,
    indicators,
    notifications,
    orders,
    org_units,
    plans,
    reports,
    statistics,
    tasks,
)
from services.common.app import create_service_app
from services.common.limits import CitizenProtection
from services.common.public_cache import PublicPageCache

app = create_service_app(
    title="CultureZone API",
    description=(
        "REST API of CultureZone, the platform for creating and running a national public cultural "
        "service system demonstration zone: org units, plans and their task tables, progress and evidence; "
        "and the residents' side: the service catalogue, orders, venue bookings, volunteers and feedback."
    ),
    service="api",
)
# Innermost after the request log and metrics (so throttled and cached answers are observed like any other):
# the rate limit and body cap first, then the public page cache, then the routes.
app.user_middleware += [Middleware(CitizenProtection), Middleware(PublicPageCache)]
for module in (
    auth,
    org_units,
    plans,
    tasks,
    facilities,
    statistics,
    activities,
    indicators,
    audit,
    reports,
    notifications,
    catalogue,
    orders,
    bookings,
    citizens,
    federation,
):
    app.include_router(module.router)
app.include_router(federation.peer_router)
