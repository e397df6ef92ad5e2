"""What an uploaded file really is, from its first bytes (pure); names and browsers' types lie."""
from __future__ import annotations

MAX_FILE_BYTES = 10 * 1024 * 1024
HEIF_BRANDS = (b"heic", b"heix", b"hevc", b"heim", b"heis", b"mif1", b"msf1")


def sniff(head: bytes) -> tuple[str, str] | None:
    """(MIME type, extension) of a JPEG, PNG, WebP, HEIC/HEIF image or a PDF; None otherwise."""
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg", "jpg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png", "png"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp", "webp"
    if head[4:8] == b"ftyp" and head[8:12] in HEIF_BRANDS:
        return "image/heic", "heic"
    if head.startswith(b"%PDF-"):
        return "application/pdf", "pdf"
    return None
