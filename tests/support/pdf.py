"""Just enough of a PDF reader for reportlab's output: its objects, the embedded fonts, and the text of its pages
read back through each font's ToUnicode map (so it proves what a PDF viewer would show and copy)."""

import base64
import re
import zlib
from dataclasses import dataclass

OBJECT = re.compile(rb"(\d+) 0 obj\s*(.*?)endobj", re.S)
REFERENCE = rb"/%s (\d+) 0 R"


@dataclass
class EmbeddedFont:
    resource: str  # the name content streams select it by, e.g. F2+0
    base_font: str  # e.g. AAAAAA+NotoSansSC-Regular
    file_key: str  # FontFile2 (TrueType) or FontFile3 (CFF)
    program: bytes  # the embedded font file, decoded
    to_unicode: dict[int, str]


def objects(pdf: bytes) -> dict[int, bytes]:
    return {int(match.group(1)): match.group(2) for match in OBJECT.finditer(pdf)}


def stream(body: bytes) -> bytes:
    data, length = re.search(rb"stream\r?\n", body), re.search(rb"/Length (\d+)", body)
    assert data and length, "no stream in this object"
    raw = body[data.end() : data.end() + int(length.group(1))]
    filters = re.search(rb"/Filter\s*\[?([^\]>]*)", body)
    for name in filters.group(1).split() if filters else []:
        if name == b"/ASCII85Decode":
            raw = base64.a85decode(raw.strip(), adobe=raw.strip().endswith(b"~>"))
        elif name == b"/FlateDecode":
            raw = zlib.decompress(raw)
    return raw


def _ref(body: bytes, key: str) -> int | None:
    match = re.search(REFERENCE % key.encode(), body)
    return int(match.group(1)) if match else None


def _cmap(data: bytes) -> dict[int, str]:
    mapping = {}
    for block in re.findall(rb"beginbfchar(.*?)endbfchar", data, re.S):
        for code, text in re.findall(rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>", block):
            mapping[int(code, 16)] = bytes.fromhex(text.decode()).decode("utf-16-be")
    for block in re.findall(rb"beginbfrange(.*?)endbfrange", data, re.S):
        for low, high, start in re.findall(rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>", block):
            first = ord(bytes.fromhex(start.decode()).decode("utf-16-be"))
            for offset, code in enumerate(range(int(low, 16), int(high, 16) + 1)):
                mapping[code] = chr(first + offset)
    return mapping


def embedded_fonts(pdf: bytes) -> list[EmbeddedFont]:
    """Every font of the PDF that carries its own font program."""
    table, found = objects(pdf), []
    for body in table.values():
        if not re.search(rb"/Type /Font[\s/>]", body) or b"/FontDescriptor" not in body:
            continue
        descriptor = table[_ref(body, "FontDescriptor") or 0]
        for key in ("FontFile2", "FontFile3", "FontFile"):
            number = _ref(descriptor, key)
            if number is not None:
                unicode_ref = _ref(body, "ToUnicode")
                found.append(
                    EmbeddedFont(
                        resource=re.search(rb"/Name /(\S+)", body).group(1).decode(),
                        base_font=re.search(rb"/BaseFont /(\S+)", body).group(1).decode(),
                        file_key=key,
                        program=stream(table[number]),
                        to_unicode=_cmap(stream(table[unicode_ref])) if unicode_ref else {},
                    )
                )
    return found


def _literal(data: bytes, start: int) -> tuple[bytes, int]:
    """The PDF literal string opening at data[start] == '(' and the index after it."""
    out, depth, index = bytearray(), 1, start + 1
    while depth:
        char = data[index]
        if char == 0x5C:  # backslash
            following = data[index + 1 : index + 4]
            octal = re.match(rb"[0-7]{1,3}", following)
            if octal:
                out.append(int(octal.group(0), 8) & 0xFF)
                index += 1 + len(octal.group(0))
                continue
            out += {b"n": b"\n", b"r": b"\r", b"t": b"\t", b"b": b"\b", b"f": b"\f"}.get(following[:1], following[:1])
            index += 2
            continue
        if char == 0x28:
            depth += 1
        elif char == 0x29:
            depth -= 1
            if not depth:
                break
        out.append(char)
        index += 1
    return bytes(out), index + 1


def page_text(pdf: bytes) -> str:
    """The text shown on every page, decoded with the ToUnicode map of the font selected when it is shown."""
    fonts = {font.resource: font.to_unicode for font in embedded_fonts(pdf)}
    table, shown = objects(pdf), []
    for body in table.values():
        if not re.search(rb"/Type /Page[\s/>]", body) or b"/Contents" not in body:
            continue
        content = stream(table[_ref(body, "Contents") or 0])
        current: dict[int, str] = {}
        index = 0
        token = re.compile(rb"/(\S+)\s+[\d.]+\s+Tf|\(")
        while match := token.search(content, index):
            if match.group(0) == b"(":
                raw, index = _literal(content, match.start())
                shown.append("".join(current.get(byte, "\ufffd") for byte in raw) if current else raw.decode("latin-1"))
            else:
                current = fonts.get(match.group(1).decode(), {})
                index = match.end()
        shown.append("\n")
    return "".join(shown)
