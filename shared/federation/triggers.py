"""The triggers that write the change log inside the writing transaction, whatever the write path
(ORM, Core bulk insert, INSERT … SELECT, bulk UPDATE, cascading DELETE)."""

from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection

from shared.federation.registry import REGISTRY

CHANGE_TABLE = "federation_change"
PG_FUNCTION = """
CREATE OR REPLACE FUNCTION cz_federation_log() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    INSERT INTO federation_change (txid, table_name, row_id, op, payload, changed_at)
    VALUES (pg_current_xact_id()::text::bigint, TG_TABLE_NAME, OLD.id, 'delete', to_json(OLD), now());
    RETURN OLD;
  END IF;
  INSERT INTO federation_change (txid, table_name, row_id, op, payload, changed_at)
  VALUES (pg_current_xact_id()::text::bigint, TG_TABLE_NAME, NEW.id, 'upsert', to_json(NEW), now());
  RETURN NEW;
END $$
"""
# Inserts and deletions are logged once per statement from its transition table (a bulk write of thousands of
# rows is one INSERT … SELECT, in the order the rows were written, instead of a PL/pgSQL call per row, with the
# transaction's id read once); updates stay per row, where the WHEN clause skips the ones that change nothing.
PG_SET_FUNCTIONS = (
    """
CREATE OR REPLACE FUNCTION cz_federation_log_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  writer_txid bigint := pg_current_xact_id()::text::bigint;
BEGIN
  INSERT INTO federation_change (txid, table_name, row_id, op, payload, changed_at)
  SELECT writer_txid, TG_TABLE_NAME, n.id, 'upsert', to_json(n), now()
  FROM cz_new n;
  RETURN NULL;
END $$
""",
    """
CREATE OR REPLACE FUNCTION cz_federation_log_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  writer_txid bigint := pg_current_xact_id()::text::bigint;
BEGIN
  INSERT INTO federation_change (txid, table_name, row_id, op, payload, changed_at)
  SELECT writer_txid, TG_TABLE_NAME, o.id, 'delete', to_json(o), now()
  FROM cz_old o;
  RETURN NULL;
END $$
""",
)


def _names(table: str) -> tuple[str, str, str]:
    return f"cz_fed_{table}_ins", f"cz_fed_{table}_upd", f"cz_fed_{table}_del"


def install_change_triggers(connection: Connection, tables: list[str] | None = None) -> list[str]:
    """Create (or replace) the logging triggers of every tracked table that exists; the tables done."""
    inspector = inspect(connection)
    existing = set(inspector.get_table_names())
    if CHANGE_TABLE not in existing:
        return []
    wanted = [t for t in (tables or [tracked.table for tracked in REGISTRY]) if t in existing]
    postgres = connection.dialect.name == "postgresql"
    if postgres:
        connection.execute(text(PG_FUNCTION))
        for function in PG_SET_FUNCTIONS:
            connection.execute(text(function))
    for table in wanted:
        insert, update, delete = _names(table)
        if postgres:
            for name in (insert, delete):
                connection.execute(text(f"DROP TRIGGER IF EXISTS {name} ON {table}"))
            connection.execute(
                text(
                    f"CREATE TRIGGER {insert} AFTER INSERT ON {table} REFERENCING NEW TABLE AS cz_new "
                    "FOR EACH STATEMENT EXECUTE FUNCTION cz_federation_log_inserted()"
                )
            )
            connection.execute(
                text(
                    f"CREATE TRIGGER {delete} AFTER DELETE ON {table} REFERENCING OLD TABLE AS cz_old "
                    "FOR EACH STATEMENT EXECUTE FUNCTION cz_federation_log_deleted()"
                )
            )
            connection.execute(
                text(
                    f"CREATE OR REPLACE TRIGGER {update} AFTER UPDATE ON {table} FOR EACH ROW "
                    "WHEN (OLD.* IS DISTINCT FROM NEW.*) EXECUTE FUNCTION cz_federation_log()"
                )
            )
            continue
        columns = inspector.get_columns(table)
        for name, event, row, op in (
            (insert, "INSERT", "NEW", "upsert"),
            (update, "UPDATE", "NEW", "upsert"),
            (delete, "DELETE", "OLD", "delete"),
        ):
            pairs = ", ".join(
                f"'{c['name']}', " + (f"json({row}.{c['name']})" if _is_json(c) else f"{row}.{c['name']}")
                for c in columns
            )
            connection.execute(text(f"DROP TRIGGER IF EXISTS {name}"))
            connection.execute(
                text(
                    f"CREATE TRIGGER {name} AFTER {event} ON {table} BEGIN "
                    f"INSERT INTO {CHANGE_TABLE} (table_name, row_id, op, payload, changed_at) VALUES "
                    f"('{table}', {row}.id, '{op}', json_object({pairs}), strftime('%Y-%m-%d %H:%M:%S', 'now')); END"
                )
            )
    return wanted


def _is_json(column: dict) -> bool:
    return "JSON" in str(column["type"]).upper()


def drop_change_triggers(connection: Connection, tables: list[str]) -> None:
    """Remove the logging triggers (downgrade)."""
    existing = set(inspect(connection).get_table_names())
    postgres = connection.dialect.name == "postgresql"
    for table in tables:
        if table not in existing:
            continue
        for name in _names(table):
            if postgres:
                connection.execute(text(f"DROP TRIGGER IF EXISTS {name} ON {table}"))
            else:
                connection.execute(text(f"DROP TRIGGER IF EXISTS {name}"))
    if postgres:
        for function in ("cz_federation_log", "cz_federation_log_inserted", "cz_federation_log_deleted"):
            connection.execute(text(f"DROP FUNCTION IF EXISTS {function}()"))


def backfill(connection: Connection, tables: list[str]) -> None:
    """Log every existing row once, so that a peer added later receives what was there before the log."""
    for table in tables:
        if connection.dialect.name == "postgresql":
            connection.execute(
                text(
                    f"INSERT INTO {CHANGE_TABLE} (txid, table_name, row_id, op, payload, changed_at) "
                    f"SELECT pg_current_xact_id()::text::bigint, '{table}', t.id, 'upsert', to_json(t), now() "
                    f"FROM {table} t ORDER BY t.id"
                )
            )
        else:
            # A no-op update fires the SQLite trigger, which knows the columns.
            connection.execute(text(f"UPDATE {table} SET id = id"))
