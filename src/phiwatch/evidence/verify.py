"""Verifying an evidence pack (a zip file or a directory) written by :func:`phiwatch.evidence.pack.write_pack`.

Every check runs and every problem is reported, each naming the file it is about:

* ``manifest.json`` parses and is of this format (else ``bad-manifest``, and nothing more can be checked);
* ``manifest.json.sig`` verifies the manifest with ``public_key.pem``, whose fingerprint is the
  one the manifest names (``bad-signature``); with a trusted key, ``public_key.pem`` must be that
  key (``untrusted-key``): a pack re-signed with another key and that key's public half is
  consistent in itself, and only this check catches it;
* ``SHA256SUMS.sig`` verifies ``SHA256SUMS``, which must be exactly the manifest's list written out;
* every listed file is there (``missing``) with its SHA-256 and size (``altered``);
* no other file is there (``unexpected``), except the manifest and the two signatures;
* zip entries with an absolute path, ``..`` or a backslash (``unsafe-path``), symbolic links in a
  directory (``unsafe-path``, never followed) and zip entries given twice (``duplicate``).

Zip members are read and hashed as streams; nothing is extracted.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import stat
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from phiwatch.errors import UsageError
from phiwatch.evidence.pack import (
    FORMAT,
    MANIFEST,
    MANIFEST_SIG,
    PUBLIC_KEY,
    SHA256SUMS,
    SHA256SUMS_SIG,
    UNLISTED,
    FileEntry,
    path_problem,
    sha256sums_text,
)
from phiwatch.evidence.signing import ALGORITHMS, fingerprint_of, verify_signature

ALTERED = "altered"
MISSING = "missing"
UNEXPECTED = "unexpected"
BAD_SIGNATURE = "bad-signature"
UNTRUSTED_KEY = "untrusted-key"
BAD_MANIFEST = "bad-manifest"
UNSAFE_PATH = "unsafe-path"
DUPLICATE = "duplicate"
UNREADABLE = "unreadable"

MAX_LIST = 64 * 1024 * 1024  # manifest.json, SHA256SUMS
MAX_SMALL = 1024 * 1024  # public_key.pem, the signatures
CHUNK = 1024 * 1024
_HEX64 = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class Problem:
    path: str  # the file in the pack it is about ("" for the pack as a whole)
    kind: str
    detail: str


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    problems: list[Problem]
    key_fingerprint: str | None  # of the pack's public_key.pem (the manifest's claim if that cannot be read)
    algorithm: str | None
    files_checked: int  # listed files found and hashed
    manifest: dict[str, Any] | None = field(default=None, compare=False)  # as parsed, when it parsed


class _TooLarge(Exception):
    pass


class _Reader:
    """The files of a pack: ``files`` maps pack path to a handle; ``problems`` are the unsafe entries met while listing."""

    def __init__(self) -> None:
        self.files: dict[str, Any] = {}
        self.problems: list[Problem] = []

    def open(self, name: str) -> contextlib.AbstractContextManager[IO[bytes]]:
        raise NotImplementedError

    def size(self, name: str) -> int:
        raise NotImplementedError

    def close(self) -> None:
        pass


class _DirReader(_Reader):
    def __init__(self, root: Path) -> None:
        super().__init__()
        for directory, dirnames, filenames in os.walk(root, followlinks=False):
            base = Path(directory)
            for name in list(dirnames):
                if (base / name).is_symlink():
                    dirnames.remove(name)
                    self.problems.append(
                        Problem(_relative(root, base / name), UNSAFE_PATH, "a symbolic link to a directory (not followed)")
                    )
            for name in filenames:
                full = base / name
                rel = _relative(root, full)
                mode = full.lstat().st_mode
                if stat.S_ISLNK(mode):
                    self.problems.append(Problem(rel, UNSAFE_PATH, "a symbolic link (not followed)"))
                elif not stat.S_ISREG(mode):
                    self.problems.append(Problem(rel, UNEXPECTED, "not a regular file"))
                else:
                    self.files[rel] = full

    def open(self, name: str) -> contextlib.AbstractContextManager[IO[bytes]]:
        return open(self.files[name], "rb")

    def size(self, name: str) -> int:
        return int(self.files[name].stat().st_size)


class _ZipReader(_Reader):
    def __init__(self, archive: zipfile.ZipFile) -> None:
        super().__init__()
        self.archive = archive
        for info in archive.infolist():
            name = info.filename
            problem = path_problem(name[:-1] if info.is_dir() else name)
            if problem:
                self.problems.append(Problem(name, UNSAFE_PATH, f"zip entry's path {problem} (not extracted)"))
            elif info.is_dir():
                continue
            elif name in self.files:
                self.problems.append(
                    Problem(name, DUPLICATE, "the zip holds two entries of this name: unzip tools disagree on which one is the file")
                )
            else:
                self.files[name] = info

    def open(self, name: str) -> contextlib.AbstractContextManager[IO[bytes]]:
        return self.archive.open(self.files[name])

    def size(self, name: str) -> int:
        return int(self.files[name].file_size)

    def close(self) -> None:
        self.archive.close()


def _relative(root: Path, path: Path) -> str:
    return path.relative_to(root).as_posix()


_READ_ERRORS = (OSError, zipfile.BadZipFile, zlib.error, EOFError, RuntimeError, NotImplementedError)


def verify_pack(path: Path, *, trusted_public_key_pem: bytes | None = None) -> VerifyResult:
    """Check the pack at ``path`` (a zip file or a directory); ``ok`` when no problem was found.

    With ``trusted_public_key_pem``, the pack must also be signed by that key. UsageError: nothing
    at ``path``, or a trusted key that is not a PEM public key.
    """
    trusted_fingerprint = None
    if trusted_public_key_pem is not None:
        try:
            trusted_fingerprint = fingerprint_of(trusted_public_key_pem)
        except ValueError as exc:
            raise UsageError(f"the trusted public key is not a PEM public key: {exc}") from exc
    reader: _Reader
    if path.is_dir():
        reader = _DirReader(path)
    elif path.is_file():
        try:
            reader = _ZipReader(zipfile.ZipFile(path))
        except (zipfile.BadZipFile, OSError) as exc:
            problem = Problem("", UNREADABLE, f"{path.name} is neither a directory nor a readable zip file: {exc}")
            return VerifyResult(ok=False, problems=[problem], key_fingerprint=None, algorithm=None, files_checked=0)
    else:
        raise UsageError(f"no evidence pack at {path}")
    try:
        return _Check(reader, trusted_fingerprint).run()
    finally:
        reader.close()


@dataclass
class _Manifest:
    document: dict[str, Any]
    algorithm: str
    key_fingerprint: str
    entries: list[FileEntry]


class _Check:
    def __init__(self, reader: _Reader, trusted_fingerprint: str | None) -> None:
        self.reader = reader
        self.trusted_fingerprint = trusted_fingerprint
        self.problems: list[Problem] = []
        self._seen: set[tuple[str, str]] = set()
        for problem in reader.problems:
            self.add(problem.path, problem.kind, problem.detail)

    def add(self, path: str, kind: str, detail: str) -> None:
        if (path, kind) not in self._seen:
            self._seen.add((path, kind))
            self.problems.append(Problem(path, kind, detail))

    def result(self, manifest: _Manifest | None, key_fingerprint: str | None, files_checked: int) -> VerifyResult:
        problems = sorted(self.problems, key=lambda p: (p.path, p.kind))
        return VerifyResult(
            ok=not problems,
            problems=problems,
            key_fingerprint=key_fingerprint,
            algorithm=manifest.algorithm if manifest else None,
            files_checked=files_checked,
            manifest=manifest.document if manifest else None,
        )

    def read(self, name: str, limit: int) -> bytes | None:
        """The whole of a pack file the checks need (None, with a problem, when missing or unreadable)."""
        if name not in self.reader.files:
            self.add(name, MISSING, "not in the pack")
            return None
        try:
            if self.reader.size(name) > limit:
                raise _TooLarge
            with self.reader.open(name) as handle:
                data = handle.read(limit + 1)
            if len(data) > limit:
                raise _TooLarge
        except _TooLarge:
            self.add(name, UNREADABLE, f"larger than {limit} bytes: not read")
            return None
        except _READ_ERRORS as exc:
            self.add(name, ALTERED, f"cannot be read: {exc}")
            return None
        return data

    def run(self) -> VerifyResult:
        raw = self.read(MANIFEST, MAX_LIST)
        manifest = self.parse_manifest(raw) if raw is not None else None
        if raw is None or manifest is None:
            return self.result(None, None, 0)

        public_pem = self.read(PUBLIC_KEY, MAX_SMALL)
        key_fingerprint: str | None = None
        if public_pem is not None:
            try:
                key_fingerprint = fingerprint_of(public_pem)
            except ValueError:
                self.add(PUBLIC_KEY, BAD_SIGNATURE, "not a PEM public key: no signature can be checked")
                public_pem = None
        if key_fingerprint is not None and key_fingerprint != manifest.key_fingerprint:
            self.add(
                PUBLIC_KEY, BAD_SIGNATURE, f"this key's fingerprint is {key_fingerprint}, the manifest names {manifest.key_fingerprint}"
            )
        pack_fingerprint = key_fingerprint or manifest.key_fingerprint
        if self.trusted_fingerprint is not None and pack_fingerprint != self.trusted_fingerprint:
            self.add(
                PUBLIC_KEY,
                UNTRUSTED_KEY,
                f"the pack is signed by the key {pack_fingerprint}, not by the trusted key {self.trusted_fingerprint}",
            )

        self.check_signature(public_pem, manifest.algorithm, MANIFEST, raw, MANIFEST_SIG)
        sums = self.read(SHA256SUMS, MAX_LIST)
        if sums is not None:
            self.check_signature(public_pem, manifest.algorithm, SHA256SUMS, sums, SHA256SUMS_SIG)
            expected = sha256sums_text(entry for entry in manifest.entries if entry.path != SHA256SUMS)
            if sums != expected:
                self.add(SHA256SUMS, ALTERED, f"does not agree with {MANIFEST}: {_first_difference(sums, expected)}")
        elif SHA256SUMS_SIG not in self.reader.files:
            self.add(SHA256SUMS_SIG, MISSING, "not in the pack")

        files_checked = 0
        listed = set()
        for entry in manifest.entries:
            listed.add(entry.path)
            if entry.path not in self.reader.files:
                self.add(entry.path, MISSING, f"listed in {MANIFEST} but not in the pack")
                continue
            digest, size = self.hash(entry.path)
            if digest is None:
                continue
            files_checked += 1
            if digest != entry.sha256 or size != entry.bytes:
                self.add(entry.path, ALTERED, f"SHA-256 {digest} ({size} bytes), the manifest lists {entry.sha256} ({entry.bytes} bytes)")
        for name in self.reader.files:
            if name not in listed and name not in UNLISTED:
                self.add(name, UNEXPECTED, f"in the pack but not listed in {MANIFEST}")
        return self.result(manifest, pack_fingerprint, files_checked)

    def check_signature(self, public_pem: bytes | None, algorithm: str, name: str, data: bytes, signature_name: str) -> None:
        signature = self.read(signature_name, MAX_SMALL)
        if public_pem is None or signature is None:
            return
        if not verify_signature(public_pem, algorithm, data, signature):
            self.add(
                signature_name,
                BAD_SIGNATURE,
                f"does not verify {name} with {PUBLIC_KEY} ({algorithm}): {name}, its signature or the key was changed",
            )

    def hash(self, name: str) -> tuple[str | None, int]:
        digest = hashlib.sha256()
        size = 0
        try:
            with self.reader.open(name) as handle:
                while chunk := handle.read(CHUNK):
                    digest.update(chunk)
                    size += len(chunk)
        except _READ_ERRORS as exc:
            self.add(name, ALTERED, f"cannot be read: {exc}")
            return None, size
        return digest.hexdigest(), size

    def parse_manifest(self, raw: bytes) -> _Manifest | None:
        def bad(detail: str) -> None:
            self.add(MANIFEST, BAD_MANIFEST, detail)

        try:
            document = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            bad(f"not JSON: {exc}")
            return None
        if not isinstance(document, dict):
            bad("not a JSON object")
            return None
        if document.get("format") != FORMAT:
            bad(f"format is {document.get('format')!r}, not {FORMAT!r}")
            return None
        signature = document.get("signature")
        if not isinstance(signature, dict):
            bad("has no 'signature' object")
            return None
        algorithm = signature.get("algorithm")
        if algorithm not in ALGORITHMS:
            bad(f"signature algorithm {algorithm!r} is not one of {', '.join(ALGORITHMS)}")
            return None
        fingerprint = signature.get("key_fingerprint")
        if not isinstance(fingerprint, str):
            bad("signature.key_fingerprint is not a string")
            return None
        if signature.get("public_key") != PUBLIC_KEY or signature.get("signature_file") != MANIFEST_SIG:
            bad(f"signature.public_key and signature.signature_file must be {PUBLIC_KEY!r} and {MANIFEST_SIG!r}")
        for name, kind in (("created_at", str), ("tool_version", str), ("meta", dict)):
            if not isinstance(document.get(name), kind):
                bad(f"{name} is not a {kind.__name__}")
        files = document.get("files")
        if not isinstance(files, list):
            bad("'files' is not a list")
            return None
        entries: list[FileEntry] = []
        paths: set[str] = set()
        for number, item in enumerate(files):
            entry = self.parse_entry(number, item)
            if entry is None:
                continue
            if entry.path in UNLISTED:
                bad(f"files[{number}] lists {entry.path}, which a pack never lists")
            elif entry.path in paths:
                bad(f"files[{number}] lists {entry.path!r} a second time")
            else:
                entries.append(entry)
                paths.add(entry.path)
        if [e.path for e in entries] != sorted(e.path for e in entries):
            bad("'files' is not sorted by path")
        for required in (PUBLIC_KEY, SHA256SUMS):
            if required not in paths:
                bad(f"'files' does not list {required}")
        return _Manifest(document=document, algorithm=algorithm, key_fingerprint=fingerprint, entries=entries)

    def parse_entry(self, number: int, item: Any) -> FileEntry | None:
        where = f"files[{number}]"
        if not isinstance(item, dict):
            self.add(MANIFEST, BAD_MANIFEST, f"{where} is not an object")
            return None
        path, sha256, size = item.get("path"), item.get("sha256"), item.get("bytes")
        if not isinstance(path, str) or path_problem(path):
            self.add(MANIFEST, BAD_MANIFEST, f"{where}.path {path!r} is not a safe relative path")
            return None
        if not isinstance(sha256, str) or not _HEX64.match(sha256):
            self.add(MANIFEST, BAD_MANIFEST, f"{where}.sha256 of {path!r} is not 64 lowercase hex digits")
            return None
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            self.add(MANIFEST, BAD_MANIFEST, f"{where}.bytes of {path!r} is not a whole number")
            return None
        return FileEntry(path, sha256, size)


def _first_difference(actual: bytes, expected: bytes) -> str:
    actual_lines, expected_lines = actual.splitlines(), expected.splitlines()
    for number, (a, e) in enumerate(zip(actual_lines, expected_lines), start=1):
        if a != e:
            return f"line {number} is {a.decode('utf-8', 'replace')!r}, expected {e.decode('utf-8', 'replace')!r}"
    return f"{len(actual_lines)} lines, expected {len(expected_lines)}"


def iter_problems(result: VerifyResult) -> Iterator[str]:
    """One line per problem, ``<path>: <kind>: <detail>``."""
    for problem in result.problems:
        yield f"{problem.path or '(pack)'}: {problem.kind}: {problem.detail}"


__all__ = [
    "ALTERED",
    "BAD_MANIFEST",
    "BAD_SIGNATURE",
    "DUPLICATE",
    "MISSING",
    "UNEXPECTED",
    "UNREADABLE",
    "UNSAFE_PATH",
    "UNTRUSTED_KEY",
    "Problem",
    "VerifyResult",
    "iter_problems",
    "verify_pack",
]
