"""Handing a user's file to DuckDB: through the warehouse's spool directory, as UTF-8.

The warehouse runs with DuckDB's external access disabled, except for one directory of the data
dir, the *spool* (``Warehouse.spool_dir``, see docs/decisions/0009). An importer therefore never
lets DuckDB open the user's path: :func:`spooled` puts the file in the spool first — a hard link
when the file is on the same file system (instant, no copy), else a copy — and removes it after.

DuckDB reads UTF-8 only (its own GB18030 support is an extension downloaded at run time, which
userops does not allow). A file in another encoding is detected from its first bytes and refused
with the encoding it looks like and the flag to use; with ``--encoding`` it is transcoded into the
spool, streaming, in chunks of ``CHUNK`` bytes, so memory stays bounded whatever its size.
"""

from __future__ import annotations

import codecs
import os
import secrets
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from userops.core.errors import InvalidInput

CHUNK = 1 << 20
"""Bytes read per step when checking or transcoding a file."""
SNIFF = 4 << 20
"""Bytes checked for UTF-8 before importing a file without ``--encoding``. A bad byte further in
still cannot slip through: DuckDB refuses that line (a row-level reject naming the encoding)."""

ENCODINGS: dict[str, str] = {
    "utf-8": "utf-8",
    "utf8": "utf-8",
    "utf-8-sig": "utf-8-sig",
    "gb18030": "gb18030",
    "gbk": "gbk",
    "gb2312": "gbk",
    "big5": "big5",
    "utf-16": "utf-16",
    "utf-16le": "utf-16-le",
    "utf-16be": "utf-16-be",
}
"""``--encoding`` values (what Excel and Chinese shop back-ends write) and their Python codecs."""

_TEXT_FORMATS = ("csv", "jsonl")


def check_encoding(encoding: str | None) -> str | None:
    """The codec for an ``--encoding`` value (None: UTF-8, checked)."""
    if encoding is None or not encoding.strip():
        return None
    codec = ENCODINGS.get(encoding.strip().lower())
    if codec is None:
        raise InvalidInput(
            f"unknown encoding {encoding!r}; known: {', '.join(ENCODINGS)}", field="encoding"
        )
    return codec


@contextmanager
def spooled(path: Path, fmt: str, spool_dir: Path, encoding: str | None = None) -> Iterator[Path]:
    """``path`` placed in ``spool_dir`` (same file name) as UTF-8; removed on exit."""
    codec = check_encoding(encoding)
    if codec is not None and fmt not in _TEXT_FORMATS:
        raise InvalidInput(
            f"--encoding applies to CSV and JSONL files; {path.name} is {fmt}", field="encoding"
        )
    if codec is None and fmt in _TEXT_FORMATS:
        _check_utf8(path)
    spool_dir.mkdir(parents=True, exist_ok=True)
    folder = spool_dir / secrets.token_hex(8)
    folder.mkdir(mode=0o700)
    target = folder / path.name
    try:
        if codec is None or codec == "utf-8":
            _place(path, target)
        else:
            _transcode(path, target, codec)
        yield target
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _place(source: Path, target: Path) -> None:
    try:
        os.link(source, target)
    except OSError:  # another file system, or hard links not allowed: copy (kernel-side)
        shutil.copyfile(source, target)


def _transcode(source: Path, target: Path, codec: str) -> None:
    decoder = codecs.getincrementaldecoder(codec)(errors="strict")
    offset, lines = 0, 1
    with open(source, "rb") as fin, open(target, "wb") as fout:
        while True:
            chunk = fin.read(CHUNK)
            try:
                text = decoder.decode(chunk, final=not chunk)
            except UnicodeDecodeError as exc:
                line = lines + chunk[: exc.start].count(b"\n")
                raise InvalidInput(
                    f"{source.name} is not valid {codec}: byte {offset + exc.start} (line {line}) "
                    f"cannot be decoded; check --encoding (known: {', '.join(ENCODINGS)})",
                    field="encoding",
                ) from exc
            fout.write(text.encode("utf-8"))
            if not chunk:
                return
            offset += len(chunk)
            lines += chunk.count(b"\n")


def _check_utf8(path: Path) -> None:
    """Refuse a text file that is not UTF-8, saying which encoding it looks like."""
    with open(path, "rb") as handle:
        head = handle.read(SNIFF)
        more = bool(handle.read(1))
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise _not_utf8(path, "UTF-16 (it starts with a UTF-16 byte-order mark)", "utf-16")
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=not more)
    except UnicodeDecodeError as exc:
        line = head[: exc.start].count(b"\n") + 1
        guess = _guess(head)
        if guess is None:
            raise InvalidInput(
                f"{path.name} is not UTF-8 (byte {exc.start}, line {line}); save it as UTF-8 or "
                f"name its encoding with --encoding (known: {', '.join(ENCODINGS)})",
                field="encoding",
            ) from exc
        raise _not_utf8(path, guess[0], guess[1], line=line) from exc


def _guess(head: bytes) -> tuple[str, str] | None:
    """(description, flag value) of the encoding the bytes look like, or None."""
    for codec, label in (("gb18030", "GB18030/GBK (what Excel saves in China)"), ("big5", "Big5")):
        try:
            text = codecs.getincrementaldecoder(codec)().decode(head, final=False)
        except UnicodeDecodeError:
            continue
        if any("\u4e00" <= ch <= "\u9fff" for ch in text):
            return label, codec
    return None


def _not_utf8(path: Path, looks_like: str, flag: str, *, line: int | None = None) -> InvalidInput:
    where = f" (line {line})" if line else ""
    return InvalidInput(
        f"{path.name} is not UTF-8{where}: it looks like {looks_like}; import it with "
        f"--encoding {flag}",
        field="encoding",
    )
