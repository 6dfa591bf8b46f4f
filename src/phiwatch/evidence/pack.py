"""Signed evidence packs: files for an auditor, with their hashes signed, as a zip file or a directory.

A pack holds the files it is given (relative POSIX paths) and five files of its own:

``public_key.pem``
    The signer's public key (PEM SubjectPublicKeyInfo).
``SHA256SUMS``
    ``<sha256 hex>  <path>`` per line, sorted by path, in ``sha256sum``'s format: every file of
    the pack except ``SHA256SUMS`` itself, ``SHA256SUMS.sig``, ``manifest.json`` and
    ``manifest.json.sig``. So it covers every given file and ``public_key.pem``.
``SHA256SUMS.sig``
    The signature of ``SHA256SUMS``'s bytes.
``manifest.json``
    The format, creation time, tool version, the caller's ``meta``, the signature's algorithm and
    key fingerprint, and ``files``: path, SHA-256 and size of every file ``SHA256SUMS`` lists,
    plus ``SHA256SUMS`` itself, sorted by path.
``manifest.json.sig``
    The signature of ``manifest.json``'s bytes.

What binds what: the signed manifest names the key's fingerprint and lists ``public_key.pem``'s
hash, so a swapped key breaks the manifest even before anyone compares it with a key they
trust; it lists ``SHA256SUMS``'s hash, and ``SHA256SUMS`` must be exactly the manifest's list
(less its own line) written out, so the two can never disagree unnoticed. The three files that
are not listed are the manifest, which cannot list itself, and the two signatures, which are
made after the files they sign.

Without phiwatch, an auditor checks an unpacked pack with the two commands of
:func:`openssl_commands` (a signature check of ``SHA256SUMS`` against ``public_key.pem``, then
``sha256sum -c SHA256SUMS``). Those prove every listed file is intact; ``phiwatch``'s
:func:`~phiwatch.evidence.verify.verify_pack` also reports files added to the pack. Neither says
who holds the key: compare the key's fingerprint with the one the organization published.

A zip pack is deterministic: entries in a fixed order (the given files sorted by path, then
``public_key.pem``, ``SHA256SUMS``, ``SHA256SUMS.sig``, ``manifest.json``, ``manifest.json.sig``),
every timestamp the pack's creation time, fixed permissions. Ed25519 signatures are deterministic
too, so the same files, time and key give the same zip, byte for byte.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import re
import shutil
import tempfile
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from phiwatch.errors import CannotRunError, UsageError
from phiwatch.evidence.signing import (
    ALGORITHMS,
    ECDSA_SHA256,
    ED25519,
    RSA_PKCS1V15_SHA256,
    RSA_PSS_SHA256,
    Signer,
    fsync_dir,
    verify_signature,
)
from phiwatch.model import isoformat

FORMAT = "phiwatch-evidence-pack/1"
MANIFEST = "manifest.json"
MANIFEST_SIG = "manifest.json.sig"
SHA256SUMS = "SHA256SUMS"
SHA256SUMS_SIG = "SHA256SUMS.sig"
PUBLIC_KEY = "public_key.pem"
RESERVED = (PUBLIC_KEY, SHA256SUMS, SHA256SUMS_SIG, MANIFEST, MANIFEST_SIG)  # the order they are written in
UNLISTED = frozenset({MANIFEST, MANIFEST_SIG, SHA256SUMS_SIG})  # the pack's files the manifest does not list

CHUNK = 1024 * 1024
_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
_DRIVE = re.compile(r"^[A-Za-z]:")


@dataclass(frozen=True)
class PackSummary:
    """What :func:`write_pack` wrote. ``files`` and ``total_bytes`` count the given files, not the pack's own five."""

    path: Path
    files: int
    total_bytes: int
    key_fingerprint: str
    algorithm: str
    manifest_sha256: str


@dataclass(frozen=True)
class FileEntry:
    path: str
    sha256: str
    bytes: int


def path_problem(path: str) -> str | None:
    """Why ``path`` cannot name a file in a pack, or None when it can.

    A pack path is relative, POSIX (``/``-separated, no backslash), without empty, ``.`` or
    ``..`` components, a drive letter or control characters (``sha256sum`` escapes those).
    """
    if not path:
        return "is empty"
    if "\\" in path:
        return "contains a backslash (use / between directories)"
    if any(ord(c) < 32 or ord(c) == 127 for c in path):
        return "contains a control character"
    if path.startswith("/"):
        return "is absolute"
    if _DRIVE.match(path):
        return "starts with a drive letter"
    parts = path.split("/")
    if ".." in parts:
        return "contains '..'"
    if any(part in ("", ".") for part in parts):
        return "has an empty or '.' component"
    return None


def check_paths(paths: Iterable[str]) -> None:
    """ValueError naming the first path a pack cannot hold: invalid, reserved, duplicate, or both a file and a directory."""
    seen: dict[str, str] = {}  # casefolded path -> path: packs are unpacked on case-insensitive file systems too
    reserved = {name.casefold() for name in RESERVED}
    for path in paths:
        if not isinstance(path, str):
            raise ValueError(f"pack path {path!r} is not a string")
        problem = path_problem(path)
        if problem:
            raise ValueError(f"pack path {path!r} {problem}")
        key = path.casefold()
        if key in reserved:
            raise ValueError(f"pack path {path!r} is reserved for the pack's own {', '.join(RESERVED)}")
        if key in seen:
            same = seen[key] == path
            raise ValueError(f"pack path {path!r} is given twice" + ("" if same else f" (as {seen[key]!r}, differing only in case)"))
        seen[key] = path
    for key, path in seen.items():
        parts = key.split("/")
        for depth in range(1, len(parts)):
            parent = "/".join(parts[:depth])
            if parent in seen:
                raise ValueError(f"pack path {seen[parent]!r} is a file, but {path!r} needs it to be a directory")


def sha256sums_text(entries: Iterable[FileEntry]) -> bytes:
    """``sha256sum``'s output for ``entries``, sorted by path."""
    return "".join(f"{entry.sha256}  {entry.path}\n" for entry in sorted(entries, key=lambda e: e.path)).encode("utf-8")


def openssl_commands(algorithm: str) -> list[str]:
    """The shell commands that check an unpacked pack signed with ``algorithm``, run in its folder without phiwatch.

    The first checks ``SHA256SUMS``'s signature with ``public_key.pem`` (OpenSSL 3.0 or later for
    Ed25519); the second checks every file ``SHA256SUMS`` lists (on macOS: ``shasum -a 256 -c SHA256SUMS``).
    """
    if algorithm == ED25519:
        signature = f"openssl pkeyutl -verify -pubin -inkey {PUBLIC_KEY} -rawin -in {SHA256SUMS} -sigfile {SHA256SUMS_SIG}"
    elif algorithm in (ECDSA_SHA256, RSA_PKCS1V15_SHA256):
        signature = f"openssl dgst -sha256 -verify {PUBLIC_KEY} -signature {SHA256SUMS_SIG} {SHA256SUMS}"
    elif algorithm == RSA_PSS_SHA256:
        signature = f"openssl dgst -sha256 -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:auto -verify {PUBLIC_KEY} -signature {SHA256SUMS_SIG} {SHA256SUMS}"
    else:
        raise ValueError(f"unknown signature algorithm {algorithm!r} (known: {', '.join(ALGORITHMS)})")
    return [signature, f"sha256sum -c {SHA256SUMS}"]


def manifest_bytes(
    *, created_at: dt.datetime, tool_version: str, meta: dict[str, Any], algorithm: str, key_fingerprint: str, files: Iterable[FileEntry]
) -> bytes:
    document = {
        "format": FORMAT,
        "created_at": isoformat(created_at),
        "tool_version": tool_version,
        "meta": meta,
        "signature": {"algorithm": algorithm, "public_key": PUBLIC_KEY, "key_fingerprint": key_fingerprint, "signature_file": MANIFEST_SIG},
        "files": [{"path": e.path, "sha256": e.sha256, "bytes": e.bytes} for e in sorted(files, key=lambda e: e.path)],
    }
    try:
        text = json.dumps(document, indent=2, ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"the pack's meta cannot be written as JSON: {exc}") from exc
    return (text + "\n").encode("utf-8")


def write_pack(
    files: Iterable[tuple[str, bytes | Path]],
    out: Path,
    signer: Signer,
    *,
    created_at: dt.datetime,
    tool_version: str,
    meta: dict[str, Any],
) -> PackSummary:
    """Write ``files`` (pack path, and bytes or a file to copy) as a signed pack at ``out``.

    ``out`` ending in ``.zip``: a zip file, which must not exist. Otherwise a directory, which must
    not exist or be empty. The pack is built under a temporary name next to ``out`` and renamed at
    the end, so ``out`` never holds half a pack. Files given as paths are streamed and hashed as
    they are copied. Like the temporary file or directory it was built as, the pack is readable
    by its owner only (mode 0600 for a zip, 0700 for a directory). ValueError: a path the pack
    cannot hold (see :func:`check_paths`) or an unknown algorithm; UsageError: ``out`` is taken.
    """
    items = list(files)
    check_paths(path for path, _ in items)
    if signer.algorithm not in ALGORITHMS:
        raise ValueError(f"unknown signature algorithm {signer.algorithm!r} (known: {', '.join(ALGORITHMS)})")
    items.sort(key=lambda item: item[0])
    # a meta that is not JSON fails here, before any file is copied
    manifest_bytes(created_at=created_at, tool_version=tool_version, meta=meta, algorithm=signer.algorithm, key_fingerprint="", files=())
    as_zip = out.name.lower().endswith(".zip")
    _check_out(out, as_zip)
    out.parent.mkdir(parents=True, exist_ok=True)
    if as_zip:
        with _temporary_file(out) as tmp:
            with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as archive:
                summary = _write(items, _ZipSink(archive, created_at), out, signer, created_at, tool_version, meta)
            _publish_file(tmp, out)
    else:
        with _temporary_dir(out) as tmp:
            summary = _write(items, _DirSink(tmp), out, signer, created_at, tool_version, meta)
            _publish_dir(tmp, out)
    return summary


def _write(
    items: list[tuple[str, bytes | Path]],
    sink: _Sink,
    out: Path,
    signer: Signer,
    created_at: dt.datetime,
    tool_version: str,
    meta: dict[str, Any],
) -> PackSummary:
    given = [sink.write(path, source) for path, source in items]
    public_pem = signer.public_key_pem()
    fingerprint = signer.fingerprint()
    listed = [*given, sink.write(PUBLIC_KEY, public_pem)]
    sums = sha256sums_text(listed)
    listed.append(sink.write(SHA256SUMS, sums))
    sink.write(SHA256SUMS_SIG, _signed(signer, public_pem, SHA256SUMS, sums))
    manifest = manifest_bytes(
        created_at=created_at, tool_version=tool_version, meta=meta, algorithm=signer.algorithm, key_fingerprint=fingerprint, files=listed
    )
    sink.write(MANIFEST, manifest)
    sink.write(MANIFEST_SIG, _signed(signer, public_pem, MANIFEST, manifest))
    return PackSummary(
        path=out,
        files=len(given),
        total_bytes=sum(entry.bytes for entry in given),
        key_fingerprint=fingerprint,
        algorithm=signer.algorithm,
        manifest_sha256=hashlib.sha256(manifest).hexdigest(),
    )


def _signed(signer: Signer, public_pem: bytes, name: str, data: bytes) -> bytes:
    signature = signer.sign(data)
    if not verify_signature(public_pem, signer.algorithm, data, signature):
        raise CannotRunError(f"the signature of {name} does not verify with the signer's own public key ({signer.algorithm})")
    return signature


class _Sink:
    def write(self, path: str, source: bytes | Path) -> FileEntry:
        digest = hashlib.sha256()
        size = 0
        with self._open(path) as target:
            for chunk in _chunks(source):
                digest.update(chunk)
                size += len(chunk)
                target.write(chunk)
        return FileEntry(path, digest.hexdigest(), size)

    def _open(self, path: str) -> contextlib.AbstractContextManager[IO[bytes]]:
        raise NotImplementedError


class _DirSink(_Sink):
    def __init__(self, root: Path) -> None:
        self.root = root

    def _open(self, path: str) -> contextlib.AbstractContextManager[IO[bytes]]:
        target = self.root.joinpath(*path.split("/"))
        target.parent.mkdir(parents=True, exist_ok=True)
        return _synced(open(target, "xb"))


class _ZipSink(_Sink):
    def __init__(self, archive: zipfile.ZipFile, created_at: dt.datetime) -> None:
        self.archive = archive
        moment = created_at if created_at.tzinfo is None else created_at.astimezone(dt.UTC)
        stamp = (moment.year, moment.month, moment.day, moment.hour, moment.minute, moment.second)
        self.date_time = max(stamp, _ZIP_EPOCH)

    def write(self, path: str, source: bytes | Path) -> FileEntry:
        self._size = len(source) if isinstance(source, bytes) else source.stat().st_size
        return super().write(path, source)

    def _open(self, path: str) -> contextlib.AbstractContextManager[IO[bytes]]:
        info = zipfile.ZipInfo(path, date_time=self.date_time)
        info.compress_type = zipfile.ZIP_DEFLATED
        info.create_system = 3  # Unix, whatever system writes it
        info.external_attr = 0o100644 << 16
        info.file_size = self._size  # lets zipfile choose ZIP64 up front for large files
        return self.archive.open(info, "w")


def _chunks(source: bytes | Path) -> Iterator[bytes]:
    if isinstance(source, bytes):
        yield source
        return
    with open(source, "rb") as handle:
        while chunk := handle.read(CHUNK):
            yield chunk


@contextlib.contextmanager
def _synced(handle: IO[bytes]) -> Iterator[IO[bytes]]:
    with handle:
        yield handle
        handle.flush()
        os.fsync(handle.fileno())


def _check_out(out: Path, as_zip: bool) -> None:
    if as_zip:
        if out.exists() or out.is_symlink():
            raise UsageError(f"{out} already exists: choose a new name for the evidence pack")
        return
    if out.is_symlink() or (out.exists() and not out.is_dir()):
        raise UsageError(f"{out} exists and is not a directory: choose a new name for the evidence pack")
    if out.is_dir() and any(out.iterdir()):
        raise UsageError(f"{out} is a directory that is not empty: choose a new or empty directory for the evidence pack")


@contextlib.contextmanager
def _temporary_file(out: Path) -> Iterator[Path]:
    fd, name = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp")
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


@contextlib.contextmanager
def _temporary_dir(out: Path) -> Iterator[Path]:
    tmp = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp"))
    try:
        yield tmp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _publish_file(tmp: Path, out: Path) -> None:
    with open(tmp, "rb") as handle:
        os.fsync(handle.fileno())
    try:
        os.link(tmp, out)  # never replaces a file that appeared meanwhile
    except FileExistsError as exc:
        raise UsageError(f"{out} already exists: choose a new name for the evidence pack") from exc
    except OSError:  # no hard links on this file system
        if out.exists():
            raise UsageError(f"{out} already exists: choose a new name for the evidence pack") from None
        os.replace(tmp, out)
    fsync_dir(out.parent)


def _publish_dir(tmp: Path, out: Path) -> None:
    if out.is_dir():
        try:
            out.rmdir()  # empty, checked before writing; fails if something was put in it since
        except OSError as exc:
            raise UsageError(f"{out} is a directory that is not empty: choose a new or empty directory for the evidence pack") from exc
    try:
        os.rename(tmp, out)
    except OSError as exc:
        raise UsageError(f"{out} appeared while the evidence pack was written: choose a new name") from exc
    fsync_dir(out.parent)


__all__ = [
    "FORMAT",
    "MANIFEST",
    "MANIFEST_SIG",
    "PUBLIC_KEY",
    "RESERVED",
    "SHA256SUMS",
    "SHA256SUMS_SIG",
    "UNLISTED",
    "FileEntry",
    "PackSummary",
    "check_paths",
    "manifest_bytes",
    "openssl_commands",
    "path_problem",
    "sha256sums_text",
    "write_pack",
]
