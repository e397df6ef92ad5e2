"""Where a call's recording is: the record's `recording_file` under RECORDINGS_DIR, never a path
from the request, and never anything that resolves outside that folder."""
from __future__ import annotations

from pathlib import Path


def resolve_recording(recordings_dir: Path, recording_file: str | None) -> Path | None:
    """The file to serve, or None when there is none or it would escape the folder (a `..`,
    an absolute path, a symlink pointing out)."""
    if not recording_file or "\x00" in recording_file:
        return None
    root = recordings_dir.resolve()
    candidate = (root / recording_file).resolve()
    if not candidate.is_relative_to(root) or candidate == root or not candidate.is_file():
        return None
    return candidate
