"""Signing keys for evidence packs: a local Ed25519 key, or an asymmetric key in AWS KMS.

A :class:`Signer` has an ``algorithm`` (one of :data:`ALGORITHMS`), a public key (PEM,
SubjectPublicKeyInfo) and signs bytes. Its ``fingerprint()`` is ``"SHA256:"`` and the hex
SHA-256 of the DER SubjectPublicKeyInfo, so any tool can compute it from ``public_key.pem``
(``openssl pkey -pubin -in public_key.pem -outform DER | sha256sum``).

* :class:`LocalSigner`: Ed25519, the private key kept in ``<data dir>/signing/ed25519.pem``
  (PKCS8 PEM, mode 0600 in a 0700 directory), created on first use.
* :class:`KmsSigner`: an AWS KMS key with usage SIGN_VERIFY: ECDSA_SHA_256 (ECC_NIST_P256 or
  ECC_SECG_P256K1), RSASSA_PSS_SHA_256, else RSASSA_PKCS1_V1_5_SHA_256 (RSA keys). The private key
  never leaves KMS; messages over KMS's 4096-byte RAW limit are sent as their SHA-256 digest
  (``MessageType=DIGEST``), which gives the same signature as signing the message itself.

:func:`verify_signature` checks a signature of any of these algorithms with a public key alone.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import stat
import tempfile
import time
from pathlib import Path
from typing import Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa

from phiwatch.errors import CannotRunError, PhiwatchError, UsageError

ED25519 = "ed25519"
ECDSA_SHA256 = "ecdsa-sha256"
RSA_PSS_SHA256 = "rsassa-pss-sha256"
RSA_PKCS1V15_SHA256 = "rsassa-pkcs1v15-sha256"
ALGORITHMS = (ED25519, ECDSA_SHA256, RSA_PSS_SHA256, RSA_PKCS1V15_SHA256)

KEY_DIR = "signing"
KEY_FILE = "ed25519.pem"

# KMS signing algorithms phiwatch uses, in order of preference, and their names here
KMS_ALGORITHMS = {
    "ECDSA_SHA_256": ECDSA_SHA256,
    "RSASSA_PSS_SHA_256": RSA_PSS_SHA256,
    "RSASSA_PKCS1_V1_5_SHA_256": RSA_PKCS1V15_SHA256,
}
KMS_RAW_LIMIT = 4096  # the largest message KMS Sign accepts with MessageType RAW


def fingerprint_of(public_key_pem: bytes) -> str:
    """``"SHA256:"`` + the hex SHA-256 of the key's DER SubjectPublicKeyInfo (ValueError if not a PEM public key)."""
    key = serialization.load_pem_public_key(public_key_pem)
    der = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return "SHA256:" + hashlib.sha256(der).hexdigest()


class Signer(Protocol):
    """What signs an evidence pack."""

    algorithm: str

    def public_key_pem(self) -> bytes:
        """The public key, PEM SubjectPublicKeyInfo."""
        ...

    def sign(self, data: bytes) -> bytes:
        """The raw signature of ``data`` with :attr:`algorithm`."""
        ...

    def fingerprint(self) -> str:
        """:func:`fingerprint_of` the public key."""
        return fingerprint_of(self.public_key_pem())


def verify_signature(public_key_pem: bytes, algorithm: str, data: bytes, signature: bytes) -> bool:
    """Whether ``signature`` is ``algorithm``'s signature of ``data`` by the key ``public_key_pem``.

    False also when the key is not of the algorithm's type. RSASSA-PSS signatures are accepted with
    any salt length (AWS KMS uses the digest length, 32 bytes). ValueError: an unknown algorithm or
    a ``public_key_pem`` that is not a PEM public key.
    """
    if algorithm not in ALGORITHMS:
        raise ValueError(f"unknown signature algorithm {algorithm!r} (known: {', '.join(ALGORITHMS)})")
    key = serialization.load_pem_public_key(public_key_pem)
    try:
        if algorithm == ED25519:
            if not isinstance(key, ed25519.Ed25519PublicKey):
                return False
            key.verify(signature, data)
        elif algorithm == ECDSA_SHA256:
            if not isinstance(key, ec.EllipticCurvePublicKey):
                return False
            key.verify(signature, data, ec.ECDSA(hashes.SHA256()))
        else:
            if not isinstance(key, rsa.RSAPublicKey):
                return False
            pad: padding.AsymmetricPadding
            if algorithm == RSA_PSS_SHA256:
                pad = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.AUTO)
            else:
                pad = padding.PKCS1v15()
            key.verify(signature, data, pad, hashes.SHA256())
    except InvalidSignature:
        return False
    return True


def default_data_dir() -> Path:
    """``PHIWATCH_HOME`` if set, else the user's data directory for phiwatch (where the store keeps its SQLite file)."""
    home = os.environ.get("PHIWATCH_HOME")
    if home:
        return Path(home).expanduser()
    from platformdirs import user_data_dir

    return Path(user_data_dir("phiwatch"))


def key_path(data_dir: Path) -> Path:
    """Where :meth:`LocalSigner.load_or_create` keeps the private key under ``data_dir``."""
    return data_dir / KEY_DIR / KEY_FILE


def _new_private_key() -> ed25519.Ed25519PrivateKey:
    return ed25519.Ed25519PrivateKey.generate()


class LocalSigner(Signer):
    """Ed25519 with a private key on this machine."""

    algorithm = ED25519

    def __init__(self, private_key: ed25519.Ed25519PrivateKey) -> None:
        self._key = private_key
        self._public_pem = private_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    @classmethod
    def generate(cls) -> LocalSigner:
        """A signer with a new key kept only in memory."""
        return cls(_new_private_key())

    @classmethod
    def load_or_create(cls, data_dir: Path | None = None) -> LocalSigner:
        """The signer of the key in ``data_dir/signing/ed25519.pem`` (``data_dir``: :func:`default_data_dir`), created on first use.

        A new key is written to a temporary file in the same directory and then hard-linked
        under its final name, which fails if the name exists: of processes racing to create
        it, one key wins and every process signs with it (``os.replace`` would let a later
        process overwrite a key an earlier one already used). Where the file system has no
        hard links, the final name is created with ``O_EXCL`` instead.
        """
        path = key_path(data_dir if data_dir is not None else default_data_dir())
        _make_key_dir(path.parent)
        if not path.exists():
            key = _new_private_key()
            pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
            if _install_new(path, pem):
                return cls(key)
            return cls(_read_private_key(path, wait=True))  # another process created it first
        return cls(_read_private_key(path, wait=time.time() - path.stat().st_mtime < 5))

    def public_key_pem(self) -> bytes:
        return self._public_pem

    def sign(self, data: bytes) -> bytes:
        return self._key.sign(data)


def _make_key_dir(directory: Path) -> None:
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        if os.name == "posix" and stat.S_IMODE(directory.stat().st_mode) != 0o700:
            directory.chmod(0o700)
    except OSError as exc:
        raise CannotRunError(f"cannot create the signing key directory {directory}: {exc.strerror or exc}") from exc


def _install_new(path: Path, pem: bytes) -> bool:
    """Create ``path`` holding ``pem`` (mode 0600) unless it exists: True if this call created it."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")  # O_EXCL, mode 0600
    try:
        try:
            os.write(fd, pem)
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            os.link(tmp, path)
        except FileExistsError:
            return False
        except OSError:  # no hard links here: create the final name exclusively and write it in place
            try:
                out = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                return False
            try:
                os.write(out, pem)
                os.fsync(out)
            finally:
                os.close(out)
    except OSError as exc:
        raise CannotRunError(f"cannot write the signing key {path}: {exc.strerror or exc}") from exc
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
    fsync_dir(path.parent)
    return True


def fsync_dir(directory: Path) -> None:
    """Make a rename or link in ``directory`` durable (POSIX; a no-op elsewhere)."""
    if os.name != "posix":
        return
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _read_private_key(path: Path, *, wait: bool) -> ed25519.Ed25519PrivateKey:
    if os.name == "posix":
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            raise UsageError(f"the signing key {path} can be read by other users (mode {mode:04o}): run `chmod 600 {path}`")
    # a process that lost the race on a file system without hard links may read the winner's
    # file while it is still being written: give a key that new a moment to be complete
    deadline = time.monotonic() + (2.0 if wait else 0.0)
    while True:
        pem = path.read_bytes()
        try:
            key = serialization.load_pem_private_key(pem, password=None)
            break
        except (ValueError, TypeError) as exc:
            if time.monotonic() > deadline:
                raise UsageError(f"the signing key {path} is not an unencrypted PKCS8 PEM private key: {exc}") from exc
            time.sleep(0.05)
    if not isinstance(key, ed25519.Ed25519PrivateKey):
        raise UsageError(f"the signing key {path} is not an Ed25519 key")
    return key


class KmsSigner(Signer):
    """An asymmetric AWS KMS key with usage SIGN_VERIFY (``kms:GetPublicKey`` when created, ``kms:Sign`` for each signature)."""

    def __init__(self, kms_client: Any, key_id: str) -> None:
        self._client = kms_client
        self._requested = key_id
        response = self._call("GetPublicKey", key_id, KeyId=key_id)
        usage = response.get("KeyUsage")
        if usage != "SIGN_VERIFY":
            raise UsageError(
                f"KMS key {key_id} has key usage {usage or 'unknown'}, not SIGN_VERIFY: evidence packs need an asymmetric signing key"
            )
        offered = list(response.get("SigningAlgorithms") or [])
        chosen = next((name for name in KMS_ALGORITHMS if name in offered), None)
        if chosen is None:
            spec = response.get("KeySpec") or response.get("CustomerMasterKeySpec") or "unknown"
            raise UsageError(
                f"KMS key {key_id} (key spec {spec}) offers {', '.join(offered) or 'no signing algorithms'}; "
                f"phiwatch signs with {', '.join(KMS_ALGORITHMS)}: use an ECC_NIST_P256 or RSA key"
            )
        try:
            public_key = serialization.load_der_public_key(response["PublicKey"])
        except (KeyError, ValueError, TypeError) as exc:
            raise CannotRunError(f"KMS returned no usable public key for {key_id}: {exc}") from exc
        self._public_pem = public_key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        # sign with the key's ARN: an alias re-pointed later must not sign with another key than this public key's
        self.key_id: str = response.get("KeyId") or key_id
        self.kms_algorithm = chosen
        self.algorithm = KMS_ALGORITHMS[chosen]

    def public_key_pem(self) -> bytes:
        return self._public_pem

    def sign(self, data: bytes) -> bytes:
        if len(data) <= KMS_RAW_LIMIT:
            message, message_type = data, "RAW"
        else:
            message, message_type = hashlib.sha256(data).digest(), "DIGEST"
        response = self._call(
            "Sign", self._requested, KeyId=self.key_id, Message=message, MessageType=message_type, SigningAlgorithm=self.kms_algorithm
        )
        signature = response.get("Signature")
        if not isinstance(signature, bytes) or not verify_signature(self._public_pem, self.algorithm, data, signature):
            raise CannotRunError(
                f"KMS returned a signature ({message_type} message) that does not verify with the public key of {self._requested}"
            )
        return signature

    def _call(self, operation: str, key_id: str, **params: Any) -> dict[str, Any]:
        method = {"GetPublicKey": "get_public_key", "Sign": "sign"}[operation]
        try:
            response: dict[str, Any] = getattr(self._client, method)(**params)
        except ClientError as exc:
            raise _kms_error(exc, operation, key_id, getattr(getattr(self._client, "meta", None), "region_name", None)) from exc
        except BotoCoreError as exc:
            raise CannotRunError(f"KMS {operation} for key {key_id} failed: {exc}") from exc
        return response


def _kms_error(exc: ClientError, operation: str, key_id: str, region: str | None) -> PhiwatchError:
    error = exc.response.get("Error", {})
    code = str(error.get("Code", ""))
    message = str(error.get("Message", "")) or code
    where = f" in {region}" if region else ""
    if code == "NotFoundException":
        return UsageError(f"KMS key {key_id} not found{where}: {message}")
    if code in ("AccessDeniedException", "AccessDenied"):
        return CannotRunError(
            f"access denied to kms:{operation} on key {key_id}{where} (signing needs kms:GetPublicKey and kms:Sign): {message}"
        )
    if code in ("DisabledException", "KMSInvalidStateException"):
        return UsageError(f"KMS key {key_id}{where} cannot sign in its current state: {message}")
    if code in ("InvalidKeyUsageException", "UnsupportedOperationException") or (
        code == "ValidationException" and "usage" in message.lower()
    ):
        return UsageError(f"KMS key {key_id}{where} is not an asymmetric SIGN_VERIFY key: {message}")
    if code == "ValidationException":
        return UsageError(f"KMS {operation} rejected key {key_id}{where}: {message}")
    return CannotRunError(f"KMS {operation} for key {key_id}{where} failed: {code}: {message}")


__all__ = [
    "ALGORITHMS",
    "ECDSA_SHA256",
    "ED25519",
    "KMS_ALGORITHMS",
    "KMS_RAW_LIMIT",
    "RSA_PKCS1V15_SHA256",
    "RSA_PSS_SHA256",
    "KmsSigner",
    "LocalSigner",
    "Signer",
    "default_data_dir",
    "fingerprint_of",
    "key_path",
    "verify_signature",
]
