"""Where a call's recording is: the record's `recording_file` under RECORDINGS_DIR, never a path
from the request, and never anything that resolves outside that folder."""
from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any


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


def recording_state(recordings_dir: Path, record: Mapping[str, Any]) -> str:
    """What a call page can offer of the recording: 'ready' (the player), 'pending' (the call
    has not ended: Asterisk writes the file as it goes), 'missing' (the record names a file
    that is not there) or 'none' (the call was not recorded)."""
    if not record["recording_file"]:
        return "none"
    if resolve_recording(recordings_dir, record["recording_file"]) is not None:
        return "ready"
    return "pending" if record["ended_at"] is None else "missing"
