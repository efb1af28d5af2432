#!/usr/bin/env bash
# Restore a folder made by deploy/backup.sh into an EMPTY database and an empty DATA_DIR/evidence.
#
#   deploy/restore.sh BACKUP_FOLDER
#
# DATABASE_URL and DATA_DIR come from the environment, else from CULTUREZONE_ENV_FILE, as in backup.sh.
# Stop api, ingest and scheduler first; create the database beforehand (createdb --owner culturezone NAME).
# Afterwards run `culturezone migrate` (a no-op unless the backup is older than the release) and start them.
set -euo pipefail

load_env_file() { # KEY=value lines taken literally, as systemd reads them; the environment wins
  local key value
  while IFS='=' read -r key value; do
    case "$key" in
      DATABASE_URL | DATA_DIR) [ -n "${!key:-}" ] || export "$key=$value" ;;
    esac
  done <"$1"
}

libpq_url() { # postgresql+asyncpg://… → postgresql://…, which pg_restore and psql understand
  case "$1" in
    postgresql+*://*) printf 'postgresql://%s\n' "${1#*://}" ;;
    postgresql://* | postgres://*) printf '%s\n' "$1" ;;
    *)
      echo "restore.sh: DATABASE_URL is not a PostgreSQL URL (${1%%:*}:…)" >&2
      return 1
      ;;
  esac
}

fail() {
  echo "restore.sh: $*" >&2
  exit 1
}

backup="${1:?usage: deploy/restore.sh BACKUP_FOLDER}"
[ -z "${CULTUREZONE_ENV_FILE:-}" ] || load_env_file "$CULTUREZONE_ENV_FILE"
: "${DATABASE_URL:?set DATABASE_URL (or CULTUREZONE_ENV_FILE) to the empty target database}"
: "${DATA_DIR:?set DATA_DIR (or CULTUREZONE_ENV_FILE) to the target data directory}"
url="$(libpq_url "$DATABASE_URL")"

[ -f "$backup/SHA256SUMS" ] || fail "$backup is not a backup folder (no SHA256SUMS)"
(cd "$backup" && sha256sum --check --quiet SHA256SUMS) || fail "$backup is damaged: checksums differ"

tables="$(psql --no-psqlrc --tuples-only --no-align --dbname="$url" --command \
  "SELECT count(*) FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')")"
[ "$tables" = 0 ] || fail "the target database is not empty ($tables tables): restore into a new database"
if [ -d "$DATA_DIR/evidence" ] && [ -n "$(ls -A "$DATA_DIR/evidence")" ]; then
  fail "$DATA_DIR/evidence is not empty: restore into an empty data directory"
fi

pg_restore --exit-on-error --single-transaction --no-owner --no-acl --dbname="$url" "$backup/database.dump"
mkdir -p "$DATA_DIR"
tar --extract --gzip --file="$backup/evidence.tar.gz" --directory="$DATA_DIR"
mkdir -p "$DATA_DIR/evidence/tmp"

# Every evidence file is named by its sha256: check the content still matches.
damaged="$(cd "$DATA_DIR/evidence" && find . -path ./tmp -prune -o -type f -print0 | xargs -0 -r sha256sum |
  awk '{ count = split($2, parts, "/"); if ($1 != parts[count]) print $2 }')"
[ -z "$damaged" ] || fail "evidence files whose content does not match their name: $damaged"

files="$(find "$DATA_DIR/evidence" -path "$DATA_DIR/evidence/tmp" -prune -o -type f -print | wc -l)"
echo "restored $backup: database and $files evidence file(s); now run culturezone migrate, then start the services"
