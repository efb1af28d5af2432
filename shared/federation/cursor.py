"""The feed's opaque cursor: the (transaction id, change id) of the last change a reader has."""

import base64
import binascii

from shared.errors import AppError

MAX = 2**63 - 1
START = (-1, 0)


class BadCursor(AppError):
    """A cursor this instance never issued (garbage, or one from the future)."""

    status_code = 400
    title = "Bad cursor"
    type_slug = "bad-cursor"

    def __init__(self, detail: str, *, field: str = "since") -> None:
        super().__init__(detail, errors=[{"field": field, "message": detail}])


def encode(position: tuple[int, int]) -> str:
    """The opaque form of a feed position."""
    txid, change_id = position
    return base64.urlsafe_b64encode(f"cz1:{txid}:{change_id}".encode()).decode().rstrip("=")


def decode(cursor: str | None, *, field: str = "since") -> tuple[int, int]:
    """The feed position inside a cursor; START for none; 400 naming the field for anything else."""
    if not cursor:
        return START
    try:
        text = base64.urlsafe_b64decode((cursor + "=" * (-len(cursor) % 4)).encode()).decode()
        tag, txid, change_id = text.split(":")
        position = (int(txid), int(change_id))
    except (ValueError, UnicodeDecodeError, binascii.Error) as exc:
        raise BadCursor("the cursor is not one this instance issued", field=field) from exc
    if tag != "cz1" or not (-1 <= position[0] <= MAX and 0 <= position[1] <= MAX):
        raise BadCursor("the cursor is not one this instance issued", field=field)
    return position
