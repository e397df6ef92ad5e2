"""What an uploaded file really is (names and browsers' types lie): its first bytes say which
kind it claims to be, and a walk over its whole structure says whether it is one, complete.

The walks read the container only (JPEG segments and end marker, PNG chunks and their CRCs,
RIFF chunks of WebP, ISO-BMFF boxes of HEIC, the PDF trailer) in bounded chunks, so a 10 MB file
costs a few hundred kB and no image decoder ever runs on untrusted bytes.
"""
from __future__ import annotations

import struct
import zlib
from typing import BinaryIO

MAX_FILE_BYTES = 10 * 1024 * 1024
HEIF_BRANDS = (b"heic", b"heix", b"hevc", b"heim", b"heis", b"mif1", b"msf1")
CHUNK = 256 * 1024
ACCEPTED = "Solo se aceptan imágenes (JPG, PNG, WebP, HEIC) y PDF."
_RESEND = "Pida al cliente que lo envíe de nuevo."
# JPEG markers with no length field after them (SOI, EOI, RSTn, TEM).
_STANDALONE = {0xD8, 0xD9, 0x01, *range(0xD0, 0xD8)}
_SOF = set(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


class FileRejected(ValueError):
    """The file is not an accepted, complete document; the message is for the agent (Spanish)."""


def sniff(head: bytes) -> tuple[str, str] | None:
    """(MIME type, extension) of a JPEG, PNG, WebP, HEIC/HEIF image or a PDF; None otherwise."""
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg", "jpg"
    if head.startswith(_PNG_SIGNATURE):
        return "image/png", "png"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp", "webp"
    if head[4:8] == b"ftyp" and head[8:12] in HEIF_BRANDS:
        return "image/heic", "heic"
    if head.startswith(b"%PDF-"):
        return "application/pdf", "pdf"
    return None


def check_file(stream: BinaryIO, size: int) -> tuple[str, str]:
    """(MIME type, extension) of a whole, well-formed accepted file; FileRejected otherwise.
    `stream` is seekable and holds `size` bytes."""
    stream.seek(0)
    sniffed = sniff(stream.read(64))
    if sniffed is None:
        raise FileRejected(ACCEPTED)
    mime, ext = sniffed
    _CHECKS[ext](stream, size)
    return sniffed


def _jpeg(stream: BinaryIO, size: int) -> None:
    position, seen_frame = 2, False
    while True:
        stream.seek(position)
        header = stream.read(4)
        if len(header) < 2 or header[0] != 0xFF:
            raise _broken("JPG", "sus segmentos no son válidos")
        marker = header[1]
        if marker == 0xFF:  # fill byte before a marker
            position += 1
            continue
        if marker in _STANDALONE:
            raise _broken("JPG", "termina antes de la imagen")
        if len(header) < 4:
            raise _broken("JPG", "está cortado")
        length = struct.unpack(">H", header[2:4])[0]
        if length < 2 or position + 2 + length > size:
            raise _broken("JPG", "está cortado")
        seen_frame = seen_frame or marker in _SOF
        position += 2 + length
        if marker == 0xDA:  # start of scan: the image data runs to the end marker
            break
    if not seen_frame:
        raise _broken("JPG", "no trae la imagen")
    if not _find(stream, position, size, b"\xff\xd9"):
        raise _broken("JPG", "no tiene el marcador de fin: está incompleto")


def _png(stream: BinaryIO, size: int) -> None:
    position, first = len(_PNG_SIGNATURE), True
    while True:
        stream.seek(position)
        header = stream.read(8)
        if len(header) < 8:
            raise _broken("PNG", "no tiene el bloque final (IEND): está incompleto")
        length, kind = struct.unpack(">I4s", header)
        if not kind.isalpha() or position + 12 + length > size:
            raise _broken("PNG", "está cortado o dañado")
        if first and (kind != b"IHDR" or length != 13):
            raise _broken("PNG", "no empieza con su encabezado")
        crc = zlib.crc32(kind)
        remaining = length
        while remaining:
            block = stream.read(min(CHUNK, remaining))
            if not block:
                raise _broken("PNG", "está cortado")
            crc = zlib.crc32(block, crc)
            remaining -= len(block)
        if struct.unpack(">I", stream.read(4))[0] != crc:
            raise _broken("PNG", "tiene datos dañados")
        position += 12 + length
        first = False
        if kind == b"IEND":
            break
    if position != size:
        raise _broken("PNG", "trae datos después del final")


def _webp(stream: BinaryIO, size: int) -> None:
    stream.seek(4)
    declared = struct.unpack("<I", stream.read(4))[0]
    if declared + 8 != size:
        raise _broken("WebP", "está cortado o trae datos de más")
    position, first = 12, True
    while position < size:
        stream.seek(position)
        header = stream.read(8)
        if len(header) < 8:
            raise _broken("WebP", "está cortado")
        kind, length = struct.unpack("<4sI", header)
        if first and kind not in (b"VP8 ", b"VP8L", b"VP8X"):
            raise _broken("WebP", "no trae la imagen")
        position += 8 + length + (length & 1)
        first = False
    if first or position != size:
        raise _broken("WebP", "está cortado")


def _heic(stream: BinaryIO, size: int) -> None:
    position, kinds = 0, set()
    while position < size:
        stream.seek(position)
        header = stream.read(8)
        if len(header) < 8:
            raise _broken("HEIC", "está cortado")
        length, kind = struct.unpack(">I4s", header)
        if length == 1:
            large = stream.read(8)
            if len(large) < 8:
                raise _broken("HEIC", "está cortado")
            length = struct.unpack(">Q", large)[0]
        elif length == 0:  # the last box runs to the end of the file
            length = size - position
        if length < 8 or position + length > size:
            raise _broken("HEIC", "está cortado")
        kinds.add(kind)
        position += length
    if not {b"ftyp", b"meta"} <= kinds:
        raise _broken("HEIC", "no trae la imagen")


def _pdf(stream: BinaryIO, size: int) -> None:
    stream.seek(max(0, size - 1024))
    tail = stream.read()
    if b"%%EOF" not in tail:
        raise _broken("PDF", "no tiene el final (%%EOF): está incompleto")
    if b"startxref" not in tail:
        raise _broken("PDF", "no tiene su índice")


def _find(stream: BinaryIO, start: int, size: int, needle: bytes) -> bool:
    stream.seek(start)
    carry = b""
    while block := stream.read(CHUNK):
        if needle in carry + block:
            return True
        carry = block[-(len(needle) - 1):]
    return False


def _broken(kind: str, why: str) -> FileRejected:
    return FileRejected(f"El archivo {kind} {why}. {_RESEND}")


_CHECKS = {"jpg": _jpeg, "png": _png, "webp": _webp, "heic": _heic, "pdf": _pdf}
