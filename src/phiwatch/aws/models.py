"""botocore's service models: read once per process, by one thread at a time, from a compact copy.

Building a client parses its service's model (``service-2.json.gz``). Most of a model is
documentation: 64 % of EC2's 3.9 MB, 81 % of S3's. A scan of two Regions builds about 100 clients
of about 50 services, and parsing their models took 0.75 CPU-s of every scan.
:class:`CompactFileLoader` keeps a copy of each model in phiwatch's cache directory with every
documentation string emptied, and reads that instead (0.13 CPU-s for the same models). Nothing in
phiwatch reads the documentation; ``help()`` on a client method shows less text.

A copy is named by its service and the SHA-256 of the model file's path, size, modification
time, botocore's version and the copies' format, so an upgrade of botocore or a model given through
``AWS_DATA_PATH`` is read afresh; writing a service's new copy removes its older ones. The cache is
written atomically and is only an optimisation: when it cannot be read or written the model is
parsed as botocore does. ``PHIWATCH_CACHE_DIR`` moves it; ``PHIWATCH_CACHE_DIR=off`` turns it off.

:class:`SharedLoader` serialises loading. botocore's loader caches per instance without a lock,
so threads that create clients at the same moment each parsed the same model and listed the
data directories again (32 listings of about 400 directories in one scan instead of 4).
"""

from __future__ import annotations

import contextlib
import glob
import hashlib
import json
import os
import tempfile
import threading
from pathlib import Path
from typing import Any

import botocore
from botocore.loaders import _JSON_OPEN_METHODS, JSONFileLoader, Loader

__all__ = ["CompactFileLoader", "SharedLoader", "cache_dir", "create_loader", "without_documentation"]

#: the model files kept compact: the service models (paginators, waiters and endpoint rules are small)
_COMPACT_TYPES = ("service-2",)
#: keys whose string values are documentation (a member *named* "documentation" has a dict value)
_DOC_KEYS = frozenset({"documentation", "documentationUrl"})
#: part of every copy's name: a change to what a copy holds gets new copies
_FORMAT = "1"


def cache_dir() -> Path | None:
    """Where compact models are kept: ``PHIWATCH_CACHE_DIR``, else the user's cache directory for
    phiwatch; None when ``PHIWATCH_CACHE_DIR`` is ``off``."""
    configured = os.environ.get("PHIWATCH_CACHE_DIR")
    if configured is not None and configured.strip().lower() in ("off", "0", "false", "no"):
        return None
    if configured:
        return Path(configured).expanduser() / "botocore-models"
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("phiwatch")) / "botocore-models"


def without_documentation(value: Any) -> Any:
    """``value`` (a parsed model) with every documentation string empty."""
    if isinstance(value, dict):
        # emptied, not removed: botocore reads some documentation keys with [] (client context parameters)
        return {k: "" if k in _DOC_KEYS and isinstance(v, str) else without_documentation(v) for k, v in value.items()}
    if isinstance(value, list):
        return [without_documentation(v) for v in value]
    return value


class CompactFileLoader(JSONFileLoader):
    """botocore's JSON file loader, reading service models from compact copies in ``directory``."""

    def __init__(self, directory: Path | None) -> None:
        self.directory = directory

    def load_file(self, file_path: str) -> Any:
        if self.directory is None or os.path.basename(file_path) not in _COMPACT_TYPES:
            return super().load_file(file_path)
        source = next((file_path + ext for ext in _JSON_OPEN_METHODS if os.path.isfile(file_path + ext)), None)
        if source is None:
            return None
        stat = os.stat(source)
        key = hashlib.sha256(f"{_FORMAT}\0{source}\0{stat.st_size}\0{stat.st_mtime_ns}\0{botocore.__version__}".encode()).hexdigest()[:32]
        service = Path(file_path).parent.parent.name
        copy = self.directory / f"{service}-{key}.json"
        with contextlib.suppress(OSError, ValueError):
            return json.loads(copy.read_bytes())
        data = super().load_file(file_path)
        if data is None:
            return None
        compact = without_documentation(data)
        if self._write(copy, compact):
            for older in self.directory.glob(f"{glob.escape(service)}-*.json"):
                if older != copy and older.stem.rpartition("-")[0] == service:  # not sso-admin's for sso
                    with contextlib.suppress(OSError):
                        older.unlink()
        return compact

    @staticmethod
    def _write(path: Path, data: Any) -> bool:
        """Write ``path`` atomically (False when it cannot be written: no error, the cache is optional)."""
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        except OSError:
            return False
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                out.write(json.dumps(data, separators=(",", ":")))  # dumps is C; dump to a file is not
            os.replace(tmp, path)
            return True
        except OSError:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            return False


class SharedLoader(Loader):
    """botocore's loader, loading one model at a time so concurrent clients share the work."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._lock = threading.RLock()

    def list_available_services(self, type_name: str) -> Any:
        with self._lock:
            return super().list_available_services(type_name)

    def load_service_model(self, service_name: str, type_name: str, api_version: str | None = None) -> Any:
        with self._lock:
            return super().load_service_model(service_name, type_name, api_version)

    def load_data_with_path(self, name: str) -> Any:
        with self._lock:
            return super().load_data_with_path(name)


def create_loader(search_path_string: str | None) -> SharedLoader:
    """The loader botocore's ``create_loader`` makes for ``AWS_DATA_PATH`` (``search_path_string``),
    shared and reading compact models."""
    paths = [os.path.expanduser(os.path.expandvars(p)) for p in (search_path_string or "").split(os.pathsep) if p]
    return SharedLoader(extra_search_paths=paths, file_loader=CompactFileLoader(cache_dir()))
