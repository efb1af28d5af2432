"""File names from uploads, made safe to store and to send back: no path, no control or bidirectional-override
characters (which can disguise "exe.pdf" as "fdp.exe"), at most 255 characters; and the Content-Disposition
header that carries a name (RFC 6266, the UTF-8 name in filename* as RFC 5987 says)."""

import re
import unicodedata
from urllib.parse import quote

MAX_LENGTH = 255
# Embeddings, overrides and isolates (U+202A–U+202E, U+2066–U+2069) and the invisible direction marks.
BIDI = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c")
_ASCII_SAFE = re.compile(r"[^A-Za-z0-9._()\[\] -]")


def _allowed(character: str) -> bool:
    return character not in BIDI and unicodedata.category(character) not in ("Cc", "Cf", "Cs", "Zl", "Zp")


def safe_filename(name: str | None, *, default: str = "file") -> str:
    """The last part of an uploaded name with control, format and direction characters taken out; `default`
    when nothing is left."""
    base = re.split(r"[/\\]", name or "")[-1]
    cleaned = "".join(character for character in base if _allowed(character)).strip().lstrip(".")
    if not cleaned:
        return default
    if len(cleaned) > MAX_LENGTH:
        stem, dot, suffix = cleaned.rpartition(".")
        keep = suffix if dot and stem and len(suffix) <= 16 else ""
        cleaned = cleaned[: MAX_LENGTH - len(keep) - (1 if keep else 0)] + ("." + keep if keep else "")
    return cleaned


def content_disposition(name: str, *, disposition: str = "attachment") -> str:
    """A Content-Disposition value: an ASCII fallback name for old clients and the UTF-8 name in filename*."""
    safe = safe_filename(name)
    fallback = _ASCII_SAFE.sub("_", unicodedata.normalize("NFKD", safe).encode("ascii", "ignore").decode()) or "file"
    return f"{disposition}; filename=\"{fallback}\"; filename*=UTF-8''{quote(safe, safe='')}"
