"""Uploaded file names lose paths, control and direction characters; Content-Disposition carries them safely."""

from urllib.parse import unquote

from shared.filenames import BIDI, content_disposition, safe_filename


def test_direction_overrides_control_characters_and_paths_are_taken_out() -> None:
    assert safe_filename("invoice\u202efdp.exe") == "invoicefdp.exe"
    for character in sorted(BIDI):
        assert safe_filename(f"a{character}b.pdf") == "ab.pdf"
    assert safe_filename("re\x00port\x07\x1b[31m.pdf\r\n") == "report[31m.pdf"
    assert safe_filename("..\\..\\windows\\纪要.pdf") == "纪要.pdf"
    assert safe_filename("../../etc/passwd") == "passwd"
    assert safe_filename("\x00\u202e", default="evidence") == "evidence"
    assert safe_filename(".hidden") == "hidden"
    assert safe_filename(None, default="upload") == "upload"


def test_a_long_name_keeps_its_extension_within_255_characters() -> None:
    name = safe_filename("纪" * 400 + ".pdf")
    assert len(name) == 255 and name.endswith(".pdf")


def test_content_disposition_is_one_header_line_with_an_ascii_fallback_and_the_utf8_name() -> None:
    value = content_disposition('会议"纪要\r\nSet-Cookie: x=1\u202e.pdf')
    assert "\r" not in value and "\n" not in value and "\u202e" not in value
    fallback = value.split('filename="')[1].split('"')[0]
    assert fallback.isascii() and '"' not in fallback
    assert unquote(value.split("filename*=UTF-8''")[1]) == '会议"纪要Set-Cookie: x=1.pdf'
    assert value.startswith("attachment; ")
