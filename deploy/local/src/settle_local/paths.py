"""Where the repository, the download cache and the runtime directories live."""

import os
from pathlib import Path

_REPO_MARKER = "uv.lock"


def repo_root() -> Path:
    """The workspace root: the nearest directory above this file that holds uv.lock."""
    here = Path(__file__).resolve()
    for directory in here.parents:
        if (directory / _REPO_MARKER).is_file():
            return directory
    raise RuntimeError(f"no {_REPO_MARKER} found in any parent of {here}")


def cache_dir() -> Path:
    """Downloads shared between runs: $SETTLE_CACHE_DIR, else <repo>/.cache."""
    configured = os.environ.get("SETTLE_CACHE_DIR")
    directory = Path(configured) if configured else repo_root() / ".cache"
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def run_dir(name: str, base: Path | None = None) -> Path:
    """A directory for one server's config and logs: <base>/<name>, base defaulting to <repo>/.run."""
    directory = (base if base is not None else repo_root() / ".run") / name
    directory.mkdir(parents=True, exist_ok=True)
    return directory
