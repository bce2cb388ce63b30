"""Writing a text file so that readers see the old file or the new one, never a part.

Recordings of play and the HTML report are written while a person may be reading the folder,
and a crash mid-write must not cost the previous version: the text goes to a temporary file in
the destination's directory, is flushed to disk, given the permissions a plain `open` would
give (mkstemp makes 0600), and renamed over the destination in one step.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def write_text_atomic(path: Path, text: str) -> Path:
    """`text` to `path` (parents created) through a temporary file and one rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


__all__ = ["write_text_atomic"]
