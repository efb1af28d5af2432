"""Explicit edge cases for the fuzz bench, made from both apps' OpenAPI documents: huge, negative and garbage
cursors on every list route, dates at the ends of the calendar in every date parameter and body field, and
control, direction and formula characters in every text field. None may answer 5xx."""

import base64
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any


def _cursor(values: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


CURSORS = [
    _cursor([2**63]),
    _cursor([2**63 - 1]),
    _cursor([-(2**63) - 1]),
    _cursor([-1]),
    _cursor([10**400]),
    _cursor([2**63, 2**31, 2**63]),
    _cursor([1, 2**31, 1]),
    _cursor(["1"]),
    _cursor(["\x00"]),
    _cursor([1.5]),
    _cursor([None]),
    _cursor({"id": 1}),
    "%%%",
    "AAAA" * 300,
]
DATES = ["0001-01-01", "9999-12-31", "0001-01-02", "9999-12-30"]
DATE_TIMES = [
    "0001-01-01T00:00:00+14:00",
    "0001-01-01T00:00:00Z",
    "9999-12-31T23:59:59-12:00",
    "9999-12-31T23:59:59Z",
]
TEXTS = [
    '=HYPERLINK("http://evil.example","x")',
    "a\x00b",
    "\u202egnp.exe\u2066",
    "line\r\nX-Injected: 1",
    "\x1b[31m\x07\x7f\x85",
    "@SUM(1+1)\t-2",
]


@dataclass
class Edge:
    """One request: what it probes, the method, the path (ids filled in), query and JSON body."""

    kind: str
    method: str
    path: str
    query: dict[str, Any] = field(default_factory=dict)
    body: Any = None


class _Schemas:
    def __init__(self, document: dict) -> None:
        self.components = document.get("components", {}).get("schemas", {})

    def resolve(self, schema: dict) -> dict:
        while "$ref" in schema:
            schema = self.components[schema["$ref"].rsplit("/", 1)[-1]]
        if "allOf" in schema and len(schema["allOf"]) == 1:
            return self.resolve(schema["allOf"][0])
        if "anyOf" in schema:
            concrete = [option for option in schema["anyOf"] if option.get("type") != "null"]
            return self.resolve(concrete[0]) if concrete else schema
        return schema

    def sample(self, schema: dict, ids: dict[str, Any], name: str = "", depth: int = 0) -> Any:
        """A plain value of the schema: stored ids for id fields, the first of an enum, the minimum of a number."""
        schema = self.resolve(schema)
        if "enum" in schema:
            return schema["enum"][0]
        kind, fmt = schema.get("type"), schema.get("format")
        if kind == "object" or "properties" in schema:
            if depth > 3:
                return {}
            properties = schema.get("properties", {})
            return {key: self.sample(value, ids, key, depth + 1) for key, value in properties.items()}
        if kind == "array":
            return [self.sample(schema.get("items", {}), ids, name, depth + 1)] if depth <= 3 else []
        if kind == "integer":
            return ids.get(name, schema.get("minimum", 1))
        if kind == "number":
            return schema.get("minimum", 1)
        if kind == "boolean":
            return True
        if fmt == "date":
            return "2026-06-01"
        if fmt == "date-time":
            return "2026-06-01T10:00:00+08:00"
        return ids.get(name, "x" * max(1, schema.get("minLength", 1)))

    def fields(self, schema: dict, depth: int = 0) -> Iterator[tuple[str, dict]]:
        """(name, schema) of every top-level property (nested objects are sampled, not varied)."""
        schema = self.resolve(schema)
        for name, value in schema.get("properties", {}).items():
            yield name, self.resolve(value)


def _path(template: str, parameters: list[dict], ids: dict[str, Any]) -> str:
    values = {p["name"]: ids.get(p["name"], 1) for p in parameters if p.get("in") == "path"}
    for name, value in values.items():
        template = template.replace("{" + name + "}", str(value))
    return template


def edge_cases(document: dict, *, ids: dict[str, Any]) -> list[Edge]:
    """Every edge case of one OpenAPI document; `ids` gives a stored id (or code) per parameter name."""
    schemas, cases = _Schemas(document), []
    field_ids = {"org_unit_id": ids.get("unit_id", 1), "within": ids.get("unit_id", 1)} | ids
    for template, operations in document.get("paths", {}).items():
        for method, operation in operations.items():
            parameters = operation.get("parameters", [])
            path = _path(template, parameters, ids)
            query = {
                p["name"]: schemas.sample(p.get("schema", {}), field_ids, p["name"])
                for p in parameters
                if p.get("in") == "query" and p.get("required")
            }
            for parameter in (p for p in parameters if p.get("in") == "query"):
                name, schema = parameter["name"], schemas.resolve(parameter.get("schema", {}))
                if name == "cursor":
                    cases += [Edge("cursor", method, path, query | {name: value}) for value in CURSORS]
                elif schema.get("format") in ("date", "date-time"):
                    values = DATES if schema["format"] == "date" else DATE_TIMES
                    cases += [Edge("date", method, path, query | {name: value}) for value in values]
                elif schema.get("type") == "string" and "enum" not in schema and "pattern" not in schema:
                    cases += [Edge("text", method, path, query | {name: value}) for value in TEXTS[:2]]
            content = operation.get("requestBody", {}).get("content", {})
            if "application/json" not in content:
                continue
            body_schema = content["application/json"].get("schema", {})
            base = schemas.sample(body_schema, field_ids)
            if not isinstance(base, dict):
                continue
            for name, schema in schemas.fields(body_schema):
                if schema.get("format") in ("date", "date-time"):
                    values = DATES if schema["format"] == "date" else DATE_TIMES
                    cases += [Edge("date", method, path, query, base | {name: value}) for value in values]
                elif schema.get("type") == "string" and "enum" not in schema and not schema.get("format"):
                    cases += [Edge("text", method, path, query, base | {name: value}) for value in TEXTS]
    return cases


@dataclass
class EdgeTally:
    """Edge cases run and what they answered."""

    cases: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)
    server_errors: int = 0

    def figures(self) -> list[str]:
        """The `name: value` lines."""
        kinds = [f"edge_{kind}_cases: {count}" for kind, count in sorted(self.by_kind.items())]
        return [f"edge_cases: {self.cases}", *kinds, f"edge_server_errors: {self.server_errors}"]


async def run_edges(apps: list[tuple[Any, dict]], *, headers: dict[str, str], ids: dict[str, Any]) -> EdgeTally:
    """Send every edge case of every (app, OpenAPI document) over ASGI in one event loop; count the 5xx."""
    import sys

    import httpx

    tally = EdgeTally()
    for app, document in apps:
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://edges") as client:
            for edge in edge_cases(document, ids=ids):
                tally.cases += 1
                tally.by_kind[edge.kind] = tally.by_kind.get(edge.kind, 0) + 1
                extra = {"If-Match": '"1"'} if edge.method in ("put", "patch", "delete") else {}
                response = await client.request(
                    edge.method.upper(), edge.path, params=edge.query, json=edge.body, headers=headers | extra
                )
                if response.status_code >= 500:
                    tally.server_errors += 1
                    shown = json.dumps({"query": edge.query, "body": edge.body}, ensure_ascii=True)[:800]
                    print(f"edge_server_errors: {edge.kind} {edge.method.upper()} {edge.path} {shown}", file=sys.stderr)
    return tally
