#!/usr/bin/env bash
# Back up CultureZone: the database (pg_dump -Fc) and then the evidence files (tar of DATA_DIR/evidence) into
# one timestamped folder, DEST/culturezone-YYYYMMDDTHHMMSSZ/{database.dump,evidence.tar.gz,SHA256SUMS}.
#
#   deploy/backup.sh [DEST]                 DEST defaults to ./backups
#
# Reads DATABASE_URL and DATA_DIR as the services do: from the environment, else from the file named by
# CULTUREZONE_ENV_FILE (e.g. /etc/culturezone/culturezone.env). Needs pg_dump of the server's major version or
# newer, and tar. Safe while the services run: the database comes first, so every row's file is in the tar
# (files are written before their row commits); files of uploads still in flight (evidence/tmp) are left out.
set -euo pipefail
umask 077

load_env_file() { # KEY=value lines taken literally, as systemd reads them; the environment wins
  local key value
  while IFS='=' read -r key value; do
    case "$key" in
      DATABASE_URL | DATA_DIR) [ -n "${!key:-}" ] || export "$key=$value" ;;
    esac
  done <"$1"
}

libpq_url() { # postgresql+asyncpg://… → postgresql://…, which pg_dump and psql understand
  case "$1" in
    postgresql+*://*) printf 'postgresql://%s\n' "${1#*://}" ;;
    postgresql://* | postgres://*) printf '%s\n' "$1" ;;
    *)
      echo "backup.sh: DATABASE_URL is not a PostgreSQL URL (${1%%:*}:…). For the SQLite default, stop the" \
        "services and copy DATA_DIR (sqlite3 DATA_DIR/culturezone.db '.backup FILE')." >&2
      return 1
      ;;
  esac
}

[ -z "${CULTUREZONE_ENV_FILE:-}" ] || load_env_file "$CULTUREZONE_ENV_FILE"
: "${DATABASE_URL:?set DATABASE_URL (or CULTUREZONE_ENV_FILE) as the services see it}"
: "${DATA_DIR:?set DATA_DIR (or CULTUREZONE_ENV_FILE) as the services see it}"
url="$(libpq_url "$DATABASE_URL")"
destination="${1:-./backups}"
folder="$destination/culturezone-$(date -u +%Y%m%dT%H%M%SZ)"
partial="$folder.partial"

mkdir -p "$partial"
trap 'rm -rf "$partial"' EXIT

pg_dump --format=custom --file="$partial/database.dump" --dbname="$url"

if [ -d "$DATA_DIR/evidence" ]; then
  # Exit status 1 only warns that a file changed or vanished while being read (an upload, or evidence-gc).
  tar --create --gzip --file="$partial/evidence.tar.gz" --directory="$DATA_DIR" --exclude=evidence/tmp \
    --warning=no-file-changed --warning=no-file-removed evidence || [ $? -eq 1 ]
else
  tar --create --gzip --file="$partial/evidence.tar.gz" --files-from=/dev/null
fi

(cd "$partial" && sha256sum database.dump evidence.tar.gz >SHA256SUMS)
mv "$partial" "$folder"
trap - EXIT
echo "$folder"
