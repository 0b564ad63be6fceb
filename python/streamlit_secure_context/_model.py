"""Getting the model file to the browser by content address, once."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ModelFile:
    path: Path
    sha256: str
    size: int


# (resolved path, size, mtime_ns) -> sha256: hashing a large model on every rerun would
# make every widget interaction slow.
_sha_cache: dict[tuple[str, int, int], str] = {}


def sha256_file(path: Path) -> str:
    """The hex sha256 of a file, read in chunks so a large model never sits in memory whole."""
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def resolve_model(model_path: str | os.PathLike[str]) -> ModelFile:
    if not isinstance(model_path, (str, os.PathLike)):
        raise TypeError(f"model_path must be a path to a model file, got {type(model_path).__name__}")
    path = Path(model_path).expanduser().resolve()
    if not path.is_file():
        raise FileNotFoundError(f"model file not found: {model_path} (resolved to {path})")
    stat = path.stat()
    key = (str(path), stat.st_size, stat.st_mtime_ns)
    sha = _sha_cache.get(key)
    if sha is None:
        sha = _sha_cache[key] = sha256_file(path)
    return ModelFile(path=path, sha256=sha, size=stat.st_size)


def model_url(model: ModelFile, coordinates: str) -> str:
    """Registers the model with Streamlit's media file manager and returns its URL.

    The media manager serves files from the app's own server (no proxy needed), names
    them by a hash of their content, and keeps one copy however many sessions use it.
    The URL is stable across reruns, and the browser component only downloads a model
    whose sha256 it has not loaded yet, so a rerun sends no model bytes.
    """
    from streamlit import runtime

    return runtime.get_instance().media_file_mgr.add(str(model.path), "application/octet-stream", coordinates)
