"""Evidence packs: writing (zip and directory), verifying, and every kind of tampering being caught."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shlex
import shutil
import subprocess
import tracemalloc
import warnings
import zipfile
from pathlib import Path
from typing import Any

import boto3
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa
from moto import mock_aws

from phiwatch.errors import CannotRunError, UsageError
from phiwatch.evidence.pack import (
    FORMAT,
    MANIFEST,
    MANIFEST_SIG,
    PUBLIC_KEY,
    RESERVED,
    SHA256SUMS,
    SHA256SUMS_SIG,
    UNLISTED,
    FileEntry,
    manifest_bytes,
    openssl_commands,
    sha256sums_text,
    write_pack,
)
from phiwatch.evidence.signing import ECDSA_SHA256, ED25519, RSA_PKCS1V15_SHA256, RSA_PSS_SHA256, KmsSigner, LocalSigner, Signer
from phiwatch.evidence.verify import (
    ALTERED,
    BAD_MANIFEST,
    BAD_SIGNATURE,
    DUPLICATE,
    MISSING,
    UNEXPECTED,
    UNREADABLE,
    UNSAFE_PATH,
    UNTRUSTED_KEY,
    verify_pack,
)

CREATED = dt.datetime(2026, 3, 4, 5, 6, 7, tzinfo=dt.UTC)
CONTENT = {
    "report.html": b"<html><body>HIPAA report</body></html>\n",
    "data/findings.json": b'[{"rule": "s3-bucket-ssl-requests-only", "status": "failing"}]\n',
    "config/s3/bucket one.json": b'{"resourceType": "AWS::S3::Bucket"}\n',
}
COPIED = "data/items.csv"  # given as a file to copy
COPIED_BYTES = b"resource_type,resource_id\nAWS::S3::Bucket,phi-archive\n" * 50
CONTENT_NAMES = sorted([*CONTENT, COPIED])
ALL_NAMES = sorted([*CONTENT_NAMES, *RESERVED])
KINDS = ["zip", "dir"]
needs_tools = pytest.mark.skipif(not (shutil.which("openssl") and shutil.which("sha256sum")), reason="needs openssl and sha256sum")


def _signer(seed: int = 1) -> LocalSigner:
    return LocalSigner(ed25519.Ed25519PrivateKey.from_private_bytes(bytes([seed]) * 32))


def _inputs(tmp_path: Path) -> list[tuple[str, bytes | Path]]:
    source = tmp_path / "source" / "items.csv"
    source.parent.mkdir(exist_ok=True)
    source.write_bytes(COPIED_BYTES)
    return [*CONTENT.items(), (COPIED, source)]


def _out(tmp_path: Path, kind: str, name: str = "pack") -> Path:
    return tmp_path / (f"{name}.zip" if kind == "zip" else name)


def _make(tmp_path: Path, kind: str, signer: Signer | None = None, **kwargs: Any) -> Path:
    out = _out(tmp_path, kind)
    write_pack(_inputs(tmp_path), out, signer or _signer(), created_at=CREATED, tool_version="0.1.0", meta={"period": "2026-02"}, **kwargs)
    return out


def _read_all(pack: Path) -> dict[str, bytes]:
    if pack.is_file():
        with zipfile.ZipFile(pack) as archive:
            return {info.filename: archive.read(info) for info in archive.infolist()}
    return {p.relative_to(pack).as_posix(): p.read_bytes() for p in sorted(pack.rglob("*")) if p.is_file()}


def _rewrite(pack: Path, files: dict[str, bytes]) -> None:
    if pack.suffix == ".zip":
        pack.unlink()
        with zipfile.ZipFile(pack, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for name, data in files.items():
                archive.writestr(name, data)
    else:
        shutil.rmtree(pack)
        for name, data in files.items():
            target = pack / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)


def _kinds(result) -> list[tuple[str, str]]:
    return [(p.path, p.kind) for p in result.problems]


def _unpack(pack: Path, into: Path) -> Path:
    if pack.is_dir():
        return pack
    with zipfile.ZipFile(pack) as archive:
        archive.extractall(into)
    return into


def _run(command: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(shlex.split(command), cwd=cwd, capture_output=True, text=True, timeout=60)


# --- a pack as written -------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_a_written_pack_verifies(tmp_path, kind):
    signer = _signer()
    out = _out(tmp_path, kind)

    summary = write_pack(_inputs(tmp_path), out, signer, created_at=CREATED, tool_version="0.1.0", meta={"period": "2026-02"})
    result = verify_pack(out)

    assert result.ok, result.problems
    assert result.problems == []
    assert result.key_fingerprint == signer.fingerprint() == summary.key_fingerprint
    assert result.algorithm == summary.algorithm == ED25519
    assert result.files_checked == len(CONTENT_NAMES) + 2  # and public_key.pem, SHA256SUMS
    assert (summary.path, summary.files, summary.total_bytes) == (out, 4, sum(map(len, CONTENT.values())) + len(COPIED_BYTES))
    assert verify_pack(out, trusted_public_key_pem=signer.public_key_pem()).ok

    files = _read_all(out)
    assert sorted(files) == ALL_NAMES
    assert files[COPIED] == COPIED_BYTES and files["config/s3/bucket one.json"] == CONTENT["config/s3/bucket one.json"]
    assert files[PUBLIC_KEY] == signer.public_key_pem()
    assert summary.manifest_sha256 == hashlib.sha256(files[MANIFEST]).hexdigest()
    manifest = json.loads(files[MANIFEST])
    assert manifest["format"] == FORMAT == "phiwatch-evidence-pack/1"
    assert manifest["created_at"] == "2026-03-04T05:06:07Z"
    assert (manifest["tool_version"], manifest["meta"]) == ("0.1.0", {"period": "2026-02"})
    assert manifest["signature"] == {
        "algorithm": "ed25519",
        "public_key": PUBLIC_KEY,
        "key_fingerprint": signer.fingerprint(),
        "signature_file": MANIFEST_SIG,
    }
    listed = manifest["files"]
    assert [e["path"] for e in listed] == sorted([*CONTENT_NAMES, PUBLIC_KEY, SHA256SUMS])
    assert all(e["sha256"] == hashlib.sha256(files[e["path"]]).hexdigest() and e["bytes"] == len(files[e["path"]]) for e in listed)
    sums = "".join(f"{e['sha256']}  {e['path']}\n" for e in listed if e["path"] != SHA256SUMS)
    assert files[SHA256SUMS].decode() == sums
    assert signer.sign(files[MANIFEST]) == files[MANIFEST_SIG] and signer.sign(files[SHA256SUMS]) == files[SHA256SUMS_SIG]


def test_zip_and_directory_packs_hold_the_same_files(tmp_path):
    zipped = _read_all(_make(tmp_path, "zip"))
    folder = _read_all(_make(tmp_path, "dir"))

    assert zipped == folder


def test_the_same_inputs_give_the_same_zip_byte_for_byte(tmp_path):
    first = tmp_path / "a" / "pack.zip"
    second = tmp_path / "b" / "pack.zip"
    later = tmp_path / "c" / "pack.zip"
    for out, created in ((first, CREATED), (second, CREATED), (later, CREATED + dt.timedelta(seconds=2))):
        write_pack(_inputs(tmp_path), out, _signer(), created_at=created, tool_version="0.1.0", meta={"period": "2026-02"})

    assert first.read_bytes() == second.read_bytes()
    assert first.read_bytes() != later.read_bytes()
    with zipfile.ZipFile(first) as archive:
        infos = archive.infolist()
    assert [i.filename for i in infos] == [*CONTENT_NAMES, *RESERVED]  # given files sorted, then the pack's own
    assert {i.date_time for i in infos} == {(2026, 3, 4, 5, 6, 6)}  # zip times have 2-second steps
    assert {i.compress_type for i in infos} == {zipfile.ZIP_DEFLATED}


def test_the_given_order_does_not_change_the_zip(tmp_path):
    inputs = _inputs(tmp_path)
    write_pack(inputs, tmp_path / "a.zip", _signer(), created_at=CREATED, tool_version="0.1.0", meta={})
    write_pack(list(reversed(inputs)), tmp_path / "b.zip", _signer(), created_at=CREATED, tool_version="0.1.0", meta={})

    assert (tmp_path / "a.zip").read_bytes() == (tmp_path / "b.zip").read_bytes()


@pytest.mark.parametrize("kind", KINDS)
def test_large_files_are_streamed_not_read_whole(tmp_path, kind):
    big = tmp_path / "big.bin"
    size = 24 * 1024 * 1024
    with open(big, "wb") as handle:
        for _ in range(size // (1024 * 1024)):
            handle.write(os.urandom(1024 * 1024))
    out = _out(tmp_path, kind)

    tracemalloc.start()
    try:
        write_pack([("data/big.bin", big)], out, _signer(), created_at=CREATED, tool_version="0.1.0", meta={})
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert peak < size // 3
    manifest = json.loads(_read_all(out)[MANIFEST])
    entry = next(e for e in manifest["files"] if e["path"] == "data/big.bin")
    assert entry == {"path": "data/big.bin", "sha256": hashlib.sha256(big.read_bytes()).hexdigest(), "bytes": size}
    assert verify_pack(out).ok


# --- tampering -----------------------------------------------------------------------------------


def _flip(data: bytes, where: str) -> bytes:
    at = {"first": 0, "middle": len(data) // 2, "last": len(data) - 1}[where]
    return data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1 :]


@pytest.mark.parametrize("where", ["first", "middle", "last"])
@pytest.mark.parametrize("name", ALL_NAMES)
@pytest.mark.parametrize("kind", KINDS)
def test_one_changed_byte_in_any_file_is_caught_and_named(tmp_path, kind, name, where):
    pack = _make(tmp_path, kind)
    files = _read_all(pack)
    files[name] = _flip(files[name], where)
    _rewrite(pack, files)

    result = verify_pack(pack)
    problems = _kinds(result)

    assert not result.ok
    if name in CONTENT_NAMES:
        assert problems == [(name, ALTERED)]
        assert name in result.problems[0].detail or "SHA-256" in result.problems[0].detail
    elif name in (MANIFEST_SIG, SHA256SUMS_SIG):
        assert problems == [(name, BAD_SIGNATURE)]
    elif name == SHA256SUMS:
        assert (SHA256SUMS, ALTERED) in problems and (SHA256SUMS_SIG, BAD_SIGNATURE) in problems
    elif name == PUBLIC_KEY:
        assert (PUBLIC_KEY, ALTERED) in problems
    else:  # the manifest: its signature fails, or it no longer parses
        assert {(MANIFEST_SIG, BAD_SIGNATURE), (MANIFEST, BAD_MANIFEST)} & set(problems)


@pytest.mark.parametrize("name", ALL_NAMES)
def test_a_corrupt_zip_entry_is_reported_as_that_file(tmp_path, name):
    pack = _make(tmp_path, "zip")
    with zipfile.ZipFile(pack) as archive:
        info = archive.getinfo(name)
    raw = bytearray(pack.read_bytes())
    # the local header: 30 bytes, the name, the extra field; then the compressed data
    name_length, extra_length = (
        int.from_bytes(raw[info.header_offset + 26 : info.header_offset + 28], "little"),
        int.from_bytes(raw[info.header_offset + 28 : info.header_offset + 30], "little"),
    )
    data_at = info.header_offset + 30 + name_length + extra_length
    raw[data_at + info.compress_size // 2] ^= 0x01
    pack.write_bytes(bytes(raw))

    result = verify_pack(pack)

    assert not result.ok
    assert (name, ALTERED) in _kinds(result)
    if name in CONTENT_NAMES:
        assert _kinds(result) == [(name, ALTERED)]


@pytest.mark.parametrize("name", ALL_NAMES)
@pytest.mark.parametrize("kind", KINDS)
def test_a_removed_file_is_caught_and_named(tmp_path, kind, name):
    pack = _make(tmp_path, kind)
    files = _read_all(pack)
    del files[name]
    _rewrite(pack, files)

    result = verify_pack(pack)

    assert not result.ok
    assert (name, MISSING) in _kinds(result)
    if name in CONTENT_NAMES:
        assert _kinds(result) == [(name, MISSING)]


@pytest.mark.parametrize("added", ["extra.txt", "data/extra.csv", "Manifest.json", "new/dir/notes.md"])
@pytest.mark.parametrize("kind", KINDS)
def test_an_added_file_is_caught_and_named(tmp_path, kind, added):
    pack = _make(tmp_path, kind)
    files = _read_all(pack)
    files[added] = b"not part of the evidence\n"
    _rewrite(pack, files)

    result = verify_pack(pack)

    assert _kinds(result) == [(added, UNEXPECTED)]
    assert not result.ok


def _forge(pack: Path, files: dict[str, bytes], forger: LocalSigner, *, swap_key: bool, fingerprint: str | None = None) -> None:
    """Rewrite the pack's manifest and sums for ``files`` and sign them with ``forger``'s key."""
    files = dict(files)
    if swap_key:
        files[PUBLIC_KEY] = forger.public_key_pem()
    old = json.loads(files[MANIFEST])
    listed = [FileEntry(p, hashlib.sha256(d).hexdigest(), len(d)) for p, d in files.items() if p not in UNLISTED and p != SHA256SUMS]
    files[SHA256SUMS] = sums = sha256sums_text(listed)
    listed.append(FileEntry(SHA256SUMS, hashlib.sha256(sums).hexdigest(), len(sums)))
    if fingerprint is None:
        fingerprint = forger.fingerprint() if swap_key else old["signature"]["key_fingerprint"]
    manifest = manifest_bytes(
        created_at=dt.datetime.fromisoformat(old["created_at"]),
        tool_version=old["tool_version"],
        meta=old["meta"],
        algorithm=ED25519,
        key_fingerprint=fingerprint,
        files=listed,
    )
    files[MANIFEST] = manifest
    files[MANIFEST_SIG] = forger.sign(manifest)
    files[SHA256SUMS_SIG] = forger.sign(sums)
    _rewrite(pack, files)


@pytest.mark.parametrize("kind", KINDS)
def test_a_manifest_resigned_with_another_key_fails_its_signature(tmp_path, kind):
    pack = _make(tmp_path, kind)
    files = _read_all(pack)
    files["data/findings.json"] = b"[]\n"  # the evidence changed, and the manifest and sums with it

    _forge(pack, files, _signer(seed=2), swap_key=False)
    result = verify_pack(pack)

    assert not result.ok
    assert sorted(_kinds(result)) == sorted([(MANIFEST_SIG, BAD_SIGNATURE), (SHA256SUMS_SIG, BAD_SIGNATURE)])


@pytest.mark.parametrize("kind", KINDS)
def test_a_pack_resigned_with_its_public_key_swapped_is_an_untrusted_key(tmp_path, kind):
    original = _signer()
    forger = _signer(seed=2)
    pack = _make(tmp_path, kind, signer=original)
    files = _read_all(pack)
    files["data/findings.json"] = b"[]\n"

    _forge(pack, files, forger, swap_key=True)

    assert verify_pack(pack).ok  # consistent in itself: only a key the reader trusts can tell
    result = verify_pack(pack, trusted_public_key_pem=original.public_key_pem())
    assert not result.ok
    assert _kinds(result) == [(PUBLIC_KEY, UNTRUSTED_KEY)]
    assert forger.fingerprint() in result.problems[0].detail and original.fingerprint() in result.problems[0].detail
    assert result.key_fingerprint == forger.fingerprint()


@pytest.mark.parametrize("kind", KINDS)
def test_a_swapped_public_key_that_the_manifest_does_not_name_is_a_bad_signature(tmp_path, kind):
    original = _signer()
    pack = _make(tmp_path, kind, signer=original)

    _forge(pack, _read_all(pack), _signer(seed=2), swap_key=True, fingerprint=original.fingerprint())
    result = verify_pack(pack)

    assert _kinds(result) == [(PUBLIC_KEY, BAD_SIGNATURE)]
    assert "fingerprint" in result.problems[0].detail


def test_a_manifest_of_another_format_is_a_bad_manifest(tmp_path):
    pack = _make(tmp_path, "dir")
    signer = _signer()
    manifest = json.loads((pack / MANIFEST).read_bytes())
    manifest["format"] = "phiwatch-evidence-pack/2"
    raw = json.dumps(manifest).encode()
    (pack / MANIFEST).write_bytes(raw)
    (pack / MANIFEST_SIG).write_bytes(signer.sign(raw))

    result = verify_pack(pack)

    assert _kinds(result) == [(MANIFEST, BAD_MANIFEST)]
    assert "phiwatch-evidence-pack/2" in result.problems[0].detail


def test_a_listed_path_that_escapes_the_pack_is_a_bad_manifest(tmp_path):
    pack = _make(tmp_path, "dir")
    signer = _signer()
    manifest = json.loads((pack / MANIFEST).read_bytes())
    manifest["files"][0]["path"] = "../outside.txt"
    raw = json.dumps(manifest).encode()
    (pack / MANIFEST).write_bytes(raw)
    (pack / MANIFEST_SIG).write_bytes(signer.sign(raw))

    result = verify_pack(pack)

    assert (MANIFEST, BAD_MANIFEST) in _kinds(result)
    assert "'../outside.txt' is not a safe relative path" in " ".join(p.detail for p in result.problems)


def test_zip_entries_with_unsafe_paths_are_problems_and_never_extracted(tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    pack = _make(work, "zip")
    with zipfile.ZipFile(pack, "a") as archive:
        archive.writestr("../evil.txt", b"escaped")
        archive.writestr("/etc/evil.txt", b"absolute")
        archive.writestr("data/../../evil2.txt", b"escaped")
        archive.writestr("data\\evil3.txt", b"backslash")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # zipfile warns about the duplicate name
            archive.writestr("report.html", b"a second report")

    result = verify_pack(pack)

    assert sorted(_kinds(result)) == sorted(
        [
            ("../evil.txt", UNSAFE_PATH),
            ("/etc/evil.txt", UNSAFE_PATH),
            ("data/../../evil2.txt", UNSAFE_PATH),
            ("data\\evil3.txt", UNSAFE_PATH),
            ("report.html", DUPLICATE),
        ]
    )
    assert not (tmp_path / "evil.txt").exists() and not (tmp_path / "evil2.txt").exists()
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file()) == sorted(
        ["work/pack.zip", "work/source/items.csv"]
    )


@pytest.mark.skipif(os.name != "posix", reason="symbolic links")
def test_a_symbolic_link_in_a_directory_pack_is_not_followed(tmp_path):
    pack = _make(tmp_path, "dir")
    secret = tmp_path / "secret.txt"
    secret.write_text("outside the pack")
    (pack / "link.txt").symlink_to(secret)
    (pack / "data" / "linked-dir").symlink_to(tmp_path / "source", target_is_directory=True)

    result = verify_pack(pack)

    assert _kinds(result) == [("data/linked-dir", UNSAFE_PATH), ("link.txt", UNSAFE_PATH)]


def test_something_that_is_not_a_pack(tmp_path):
    not_zip = tmp_path / "pack.zip"
    not_zip.write_bytes(b"PK not really")

    result = verify_pack(not_zip)
    assert not result.ok and _kinds(result) == [("", UNREADABLE)]

    empty = tmp_path / "empty"
    empty.mkdir()
    assert _kinds(verify_pack(empty)) == [(MANIFEST, MISSING)]

    with pytest.raises(UsageError, match="no evidence pack at"):
        verify_pack(tmp_path / "nothing")
    with pytest.raises(UsageError, match="trusted public key is not a PEM public key"):
        verify_pack(empty, trusted_public_key_pem=b"junk")


# --- the independent check: openssl and sha256sum, without phiwatch ----------------------------


@needs_tools
@pytest.mark.parametrize("kind", KINDS)
def test_openssl_and_sha256sum_check_an_unpacked_pack(tmp_path, kind):
    signer = _signer()
    folder = _unpack(_make(tmp_path, kind), tmp_path / "unpacked")
    signature_check, sums_check = openssl_commands(signer.algorithm)
    assert signature_check == "openssl pkeyutl -verify -pubin -inkey public_key.pem -rawin -in SHA256SUMS -sigfile SHA256SUMS.sig"
    assert sums_check == "sha256sum -c SHA256SUMS"

    signature = _run(signature_check, folder)
    sums = _run(sums_check, folder)
    assert signature.returncode == 0, signature.stderr
    assert "Signature Verified Successfully" in signature.stdout
    assert sums.returncode == 0, sums.stdout + sums.stderr
    assert sorted(line.rsplit(": ", 1)[0] for line in sums.stdout.splitlines()) == sorted([*CONTENT_NAMES, PUBLIC_KEY])

    # a changed file fails sha256sum ...
    altered = folder / "data" / "findings.json"
    altered.write_bytes(b"[]\n")
    failed = _run(sums_check, folder)
    assert failed.returncode != 0
    assert "data/findings.json: FAILED" in failed.stdout
    # ... and sums updated to match it fail the signature
    sums_file = folder / SHA256SUMS
    new_hash = hashlib.sha256(b"[]\n").hexdigest()
    lines = [
        f"{new_hash}  data/findings.json" if line.endswith("  data/findings.json") else line for line in sums_file.read_text().splitlines()
    ]
    sums_file.write_text("\n".join(lines) + "\n")
    assert _run(sums_check, folder).returncode == 0
    assert _run(signature_check, folder).returncode != 0


class _RsaPssLikeKms:
    """RSASSA-PSS with SHA-256 and a 32-byte salt, as AWS KMS signs (moto uses the maximum salt)."""

    algorithm = RSA_PSS_SHA256

    def __init__(self) -> None:
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def public_key_pem(self) -> bytes:
        return self._key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)

    def sign(self, data: bytes) -> bytes:
        pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.DIGEST_LENGTH)
        return self._key.sign(data, pss, hashes.SHA256())

    def fingerprint(self) -> str:
        from phiwatch.evidence.signing import fingerprint_of

        return fingerprint_of(self.public_key_pem())


@needs_tools
def test_openssl_checks_a_pss_pack_signed_with_kms_salt_length(tmp_path):
    signer = _RsaPssLikeKms()
    pack = _make(tmp_path, "dir", signer=signer)

    assert verify_pack(pack, trusted_public_key_pem=signer.public_key_pem()).ok
    for command in openssl_commands(RSA_PSS_SHA256):
        completed = _run(command, pack)
        assert completed.returncode == 0, command + completed.stdout + completed.stderr


@pytest.mark.parametrize("algorithm", [ECDSA_SHA256, RSA_PSS_SHA256, RSA_PKCS1V15_SHA256])
def test_openssl_commands_for_kms_algorithms(algorithm):
    signature_check, sums_check = openssl_commands(algorithm)
    pss = "-sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:auto " if algorithm == RSA_PSS_SHA256 else ""
    assert signature_check == f"openssl dgst -sha256 {pss}-verify public_key.pem -signature SHA256SUMS.sig SHA256SUMS"
    assert sums_check == "sha256sum -c SHA256SUMS"
    with pytest.raises(ValueError, match="unknown signature algorithm"):
        openssl_commands("ed448")


# --- packs signed by KMS (moto) ------------------------------------------------------------------


@pytest.mark.parametrize(("spec", "algorithm"), [("ECC_NIST_P256", ECDSA_SHA256), ("RSA_2048", RSA_PSS_SHA256)])
@pytest.mark.parametrize("kind", KINDS)
def test_a_pack_signed_by_kms_verifies(tmp_path, kind, spec, algorithm):
    with mock_aws():
        kms = boto3.client("kms", region_name="us-east-1")
        key_id = kms.create_key(KeySpec=spec, KeyUsage="SIGN_VERIFY")["KeyMetadata"]["KeyId"]
        signer = KmsSigner(kms, key_id)
        pack = _make(tmp_path, kind, signer=signer)
        public_der = kms.get_public_key(KeyId=key_id)["PublicKey"]

    result = verify_pack(pack, trusted_public_key_pem=signer.public_key_pem())
    assert result.ok, result.problems
    assert result.algorithm == algorithm
    assert result.key_fingerprint == "SHA256:" + hashlib.sha256(public_der).hexdigest()
    assert not verify_pack(pack, trusted_public_key_pem=_signer().public_key_pem()).ok

    if shutil.which("openssl") and shutil.which("sha256sum"):
        folder = _unpack(pack, tmp_path / "unpacked")
        for command in openssl_commands(algorithm):
            completed = _run(command, folder)
            assert completed.returncode == 0, command + completed.stdout + completed.stderr

    files = _read_all(pack)
    files["report.html"] = b"<html>changed</html>\n"
    _rewrite(pack, files)
    assert _kinds(verify_pack(pack)) == [("report.html", ALTERED)]


# --- what write_pack refuses ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("/etc/passwd", "is absolute"),
        ("../outside.txt", "contains '..'"),
        ("data/../../outside.txt", "contains '..'"),
        ("data\\findings.json", "backslash"),
        ("", "is empty"),
        ("data//x.json", "empty or '.' component"),
        ("./x.json", "empty or '.' component"),
        ("data/", "empty or '.' component"),
        ("C:/x.json", "drive letter"),
        ("a\nb.json", "control character"),
        ("manifest.json", "reserved"),
        ("SHA256SUMS", "reserved"),
        ("SHA256SUMS.sig", "reserved"),
        ("manifest.json.sig", "reserved"),
        ("public_key.pem", "reserved"),
        ("Manifest.JSON", "reserved"),
    ],
)
@pytest.mark.parametrize("kind", KINDS)
def test_a_path_the_pack_cannot_hold_is_refused_by_name(tmp_path, kind, path, reason):
    out = _out(tmp_path, kind)

    with pytest.raises(ValueError, match=reason) as raised:
        write_pack([("report.html", b"r"), (path, b"x")], out, _signer(), created_at=CREATED, tool_version="0.1.0", meta={})

    assert repr(path) in str(raised.value)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("paths", "named", "reason"),
    [
        (["data/a.json", "data/a.json"], "data/a.json", "given twice"),
        (["data/a.json", "data/A.json"], "data/A.json", "differing only in case"),
        (["data", "data/a.json"], "data", "is a file, but 'data/a.json' needs it to be a directory"),
    ],
)
def test_duplicate_and_conflicting_paths_are_refused(tmp_path, paths, named, reason):
    with pytest.raises(ValueError, match=reason) as raised:
        write_pack([(p, b"x") for p in paths], tmp_path / "pack.zip", _signer(), created_at=CREATED, tool_version="0.1.0", meta={})

    assert repr(named) in str(raised.value)
    assert list(tmp_path.iterdir()) == []


def test_reserved_names_are_allowed_below_the_top(tmp_path):
    out = tmp_path / "pack.zip"
    write_pack([("aws/manifest.json", b"{}"), ("aws/SHA256SUMS", b"")], out, _signer(), created_at=CREATED, tool_version="0.1.0", meta={})

    assert verify_pack(out).ok


def test_an_existing_pack_or_a_directory_with_files_is_not_overwritten(tmp_path):
    zipped = tmp_path / "pack.zip"
    zipped.write_bytes(b"an earlier pack")
    with pytest.raises(UsageError, match="already exists"):
        write_pack([("a.txt", b"a")], zipped, _signer(), created_at=CREATED, tool_version="0.1.0", meta={})
    assert zipped.read_bytes() == b"an earlier pack"

    folder = tmp_path / "folder"
    folder.mkdir()
    (folder / "notes.txt").write_text("keep me")
    with pytest.raises(UsageError, match="not empty"):
        write_pack([("a.txt", b"a")], folder, _signer(), created_at=CREATED, tool_version="0.1.0", meta={})
    assert [p.name for p in folder.iterdir()] == ["notes.txt"]

    a_file = tmp_path / "plain"
    a_file.write_text("x")
    with pytest.raises(UsageError, match="not a directory"):
        write_pack([("a.txt", b"a")], a_file, _signer(), created_at=CREATED, tool_version="0.1.0", meta={})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["folder", "pack.zip", "plain"]


def test_an_empty_directory_and_a_missing_parent_are_fine(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    write_pack([("a.txt", b"a")], empty, _signer(), created_at=CREATED, tool_version="0.1.0", meta={})
    assert verify_pack(empty).ok

    nested = tmp_path / "deep" / "er" / "pack.zip"
    write_pack([("a.txt", b"a")], nested, _signer(), created_at=CREATED, tool_version="0.1.0", meta={})
    assert verify_pack(nested).ok


class _FailingSigner:
    algorithm = ED25519

    def __init__(self) -> None:
        self._inner = _signer()

    def public_key_pem(self) -> bytes:
        return self._inner.public_key_pem()

    def fingerprint(self) -> str:
        return self._inner.fingerprint()

    def sign(self, data: bytes) -> bytes:
        raise RuntimeError("the signing service went away")


class _WrongKeySigner(_FailingSigner):
    def sign(self, data: bytes) -> bytes:
        return _signer(seed=9).sign(data)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(("signer", "error"), [(_FailingSigner, RuntimeError), (_WrongKeySigner, CannotRunError)])
def test_a_failure_midway_leaves_no_pack_and_no_temporary_files(tmp_path, kind, signer, error):
    out = _out(tmp_path, kind)
    (tmp_path / "source").mkdir()

    with pytest.raises(error):
        write_pack(_inputs(tmp_path), out, signer(), created_at=CREATED, tool_version="0.1.0", meta={})

    assert sorted(p.name for p in tmp_path.iterdir()) == ["source"]


def test_meta_that_is_not_json_is_refused_before_anything_is_written(tmp_path):
    with pytest.raises(ValueError, match="meta cannot be written as JSON"):
        write_pack([("a.txt", b"a")], tmp_path / "pack.zip", _signer(), created_at=CREATED, tool_version="0.1.0", meta={"when": CREATED})

    assert list(tmp_path.iterdir()) == []
