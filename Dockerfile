# CultureZone image: one image for every process (api, ingest, scheduler, migrate).
#   docker build -t culturezone:0.1.0 .
#   docker run ... culturezone:0.1.0                             # the API (default CMD)
#   docker run ... culturezone:0.1.0 culturezone serve ingest    # ingest
#   docker run ... culturezone:0.1.0 culturezone serve scheduler # scheduler
#   docker run ... culturezone:0.1.0 culturezone migrate         # alembic upgrade head
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DATA_DIR=/var/lib/culturezone \
    BIND_HOST=0.0.0.0

# Fixed uid/gid so that volumes (and Kubernetes fsGroup) can be prepared for them.
# DATA_DIR exists in the image owned by that user, so a fresh named volume mounted
# there inherits the ownership.
RUN groupadd --system --gid 10001 culturezone \
 && useradd --system --uid 10001 --gid culturezone --no-create-home \
        --home-dir /opt/culturezone --shell /usr/sbin/nologin culturezone \
 && install -d -o culturezone -g culturezone -m 0750 /var/lib/culturezone

# Sources stay owned by root (read-only for the service user); alembic.ini and
# migrations/ must be here because `culturezone migrate` runs from this directory.
WORKDIR /opt/culturezone
COPY pyproject.toml README.md alembic.ini ./
COPY shared/ shared/
COPY services/ services/
COPY migrations/ migrations/
RUN pip install --no-cache-dir . \
 && rm -rf build ./*.egg-info

USER culturezone

EXPOSE 8000 8001 8002

# Liveness of the process in this container. The port is API_PORT unless
# HEALTHCHECK_PORT says otherwise (docker-compose.yml sets its own /readyz checks
# per service; the migrate container disables the check).
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD python -c "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % (os.environ.get('HEALTHCHECK_PORT') or os.environ.get('API_PORT') or '8000'), timeout=4)" || exit 1

CMD ["culturezone", "serve", "api"]
