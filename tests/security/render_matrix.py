"""Write docs/access-matrix.md from tests/security/matrix.py: python -m tests.security.render_matrix"""

from pathlib import Path

from shared.auth.models import Role
from tests.security.matrix import ENDPOINTS, POSITIONS, PUBLIC, ROLES, UNAUTHENTICATED, Endpoint
from tests.security.read_matrix import CALLERS, EXEMPT, READS, WHOLE_TREE, Read

DOC = Path(__file__).resolve().parents[2] / "docs" / "access-matrix.md"

HEADER = """\
# Access matrix of the write endpoints

Generated from `tests/security/matrix.py` by `python -m tests.security.render_matrix`; do not edit by hand.
`tests/security/test_access_matrix.py` sends every cell below as a valid request and fails when a status differs,
when a write route has no row here, or when this file is out of date.

Every caller sits at the same street (经八路街道, roles as in `shared/auth/models.py`). The target of the request lies

- **own**: in the caller's own subtree (a community of that street);
- **sibling**: in a sibling subtree (a village of the district's other street);
- **ancestor**: at an ancestor of the caller's unit (the district).

Legend:

- **2xx**: done (201 created, 200 changed, 204 removed);
- **401**: no token, an expired token, or the token of a deactivated user: the same for every endpoint and position;
- **403**: the role may not do this, or a create names an org unit outside the caller's subtree;
- **404**: the target lies outside the caller's subtree, so for the caller it does not exist;
- **422**: an import refused: the row naming an org unit outside the caller's subtree is listed with its column.

Every refusal is `application/problem+json` and writes nothing. As a control, an admin of the whole tree sends the
sibling and ancestor requests too and gets the 2xx (but 409 for removing the district, which has child units), so
the refusals below are the scope's doing and not a broken request.
"""


def _overview() -> list[str]:
    lines = [
        "## Overview",
        "",
        "Who may write in their own subtree (✓); nobody may write outside it. A department reporter reports",
        "progress and evidence only on tasks assigned to their department (elsewhere 403). ✓*: a resident acting",
        "on their own behalf (their order, booking, vote, registration, rating, feedback, account), wherever the",
        "unit lies; staff get 403 there, and an admin of the whole tree too.",
        "",
        "| endpoint | " + " | ".join(role.value for role in ROLES) + " |",
        "|---|" + "---|" * len(ROLES),
    ]
    for endpoint in ENDPOINTS:
        marks = ["✓" if role in endpoint.allowed else "✓*" if role in endpoint.anywhere else "" for role in ROLES]
        lines.append(f"| `{endpoint.title}` | " + " | ".join(marks) + " |")
    return lines


def _section(endpoint: Endpoint) -> list[str]:
    lines = [
        f"## `{endpoint.title}`",
        "",
        endpoint.action[0].upper() + endpoint.action[1:] + ".",
        "",
        "| caller | " + " | ".join(position.value for position in POSITIONS) + " |",
        "|---|" + "---|" * len(POSITIONS),
    ]
    for role in ROLES:
        cells = [str(endpoint.expected(role, position)) for position in POSITIONS]
        lines.append(f"| {role.value} | " + " | ".join(cells) + " |")
    lines += [f"| {caller} | " + " | ".join(["401"] * len(POSITIONS)) + " |" for caller in UNAUTHENTICATED]
    return lines


READ_HEADER = """\
# Access matrix of the read endpoints

Generated from `tests/security/read_matrix.py` like the write matrix; `tests/security/test_read_matrix.py` sends
every cell below (the requests are in `tests/security/read_world.py`) and fails when a status differs or when a GET
route of the API or ingest service has no row (only the schema, its pages, `/healthz`, `/readyz` and `/metrics` are
exempt).

The callers are those of the write matrix (each role at 经八路街道, the unauthenticated ones, an admin of the whole
tree) and two more without an org unit: a resident as the WeChat login creates one, and a peer's API token. No org
unit means the whole tree only for staff: residents and peers read what their own routes serve (the public routes,
their own account, orders, bookings, volunteering and feedback, and for peers the federation feed), and every staff
read answers them 403. Positions as above; a request that names no target (an inbox, one's own rows, the
catalogue) reads the same in every position.

Legend: **200** read; **401** no token, an expired token, or a deactivated user's (not on public routes);
**403** the role may not read this (residents and peers on every staff read), or the feed asked for a subtree
outside the token's; **404** the target lies outside the caller's subtree, or is not among the caller's own rows.
"""


def _read_overview() -> list[str]:
    callers = [*(role.value for role in ROLES), *WHOLE_TREE]
    lines = [
        "## Overview of the reads",
        "",
        "Who reads (✓: in their own subtree; for a caller without an org unit, in the whole tree), on public routes",
        "without a login (public), or only as an admin of the whole tree (whole tree); ✓*: the caller's own rows",
        "anywhere (the street's resident placed the world's orders and bookings and registered as a volunteer).",
        "",
        "| endpoint | " + " | ".join(callers) + " |",
        "|---|" + "---|" * len(callers),
    ]
    for read in READS:
        marks = [_read_mark(read, caller) for caller in callers]
        lines.append(f"| `GET {read.path}` | " + " | ".join(marks) + " |")
    return lines


def _read_mark(read: Read, caller: str) -> str:
    if read.public:
        return "public"
    if caller in read.anywhere:
        return "✓*"
    role = WHOLE_TREE.get(caller) or Role(caller)
    if role not in read.readers:
        return ""
    if read.whole_tree_only and caller not in WHOLE_TREE:
        return ""
    return "whole tree" if read.whole_tree_only else "✓"


def _read_section(read: Read) -> list[str]:
    lines = [
        f"## `GET {read.path}`",
        "",
        read.action[0].upper() + read.action[1:] + ".",
        "",
        "| caller | " + " | ".join(position.value for position in POSITIONS) + " |",
        "|---|" + "---|" * len(POSITIONS),
    ]
    for caller in CALLERS:
        cells = [str(read.expected(caller, position)) for position in POSITIONS]
        lines.append(f"| {caller} | " + " | ".join(cells) + " |")
    return lines


def render() -> str:
    """The whole document."""
    lines = [HEADER.rstrip("\n"), "", *_overview(), ""]
    for endpoint in ENDPOINTS:
        lines += [*_section(endpoint), ""]
    lines += ["## Write routes without a bearer token", ""]
    lines += [f"- `{method} {path}`: {why}." for (method, path), why in PUBLIC.items()]
    lines += ["", READ_HEADER.rstrip("\n"), "", *_read_overview(), ""]
    for read in READS:
        lines += [*_read_section(read), ""]
    lines += ["## GET routes outside the matrix", ""]
    lines += [f"- `GET {path}`" for path in sorted(EXEMPT)]
    return "\n".join(lines) + "\n"


def main() -> None:
    """Rewrite the committed document."""
    DOC.parent.mkdir(parents=True, exist_ok=True)
    DOC.write_text(render(), encoding="utf-8")
    print(f"wrote {DOC}")


if __name__ == "__main__":
    main()
