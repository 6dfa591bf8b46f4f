"""Signing keys of evidence packs: the local Ed25519 key file, KMS keys (moto), signature checks."""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa, utils
from moto import mock_aws

from phiwatch.errors import CannotRunError, UsageError
from phiwatch.evidence import signing
from phiwatch.evidence.signing import (
    ALGORITHMS,
    ECDSA_SHA256,
    ED25519,
    KMS_RAW_LIMIT,
    RSA_PKCS1V15_SHA256,
    RSA_PSS_SHA256,
    KmsSigner,
    LocalSigner,
    default_data_dir,
    fingerprint_of,
    key_path,
    verify_signature,
)

posix_only = pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")


def _pem(public_key: Any) -> bytes:
    return public_key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


# --- the local key -----------------------------------------------------------------------------


@posix_only
def test_key_is_created_on_first_use_readable_by_its_owner_only(tmp_path):
    signer = LocalSigner.load_or_create(tmp_path)

    path = tmp_path / "signing" / "ed25519.pem"
    assert key_path(tmp_path) == path
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    pem = path.read_bytes()
    assert pem.startswith(b"-----BEGIN PRIVATE KEY-----")  # PKCS8, unencrypted
    private = serialization.load_pem_private_key(pem, password=None)
    assert isinstance(private, ed25519.Ed25519PrivateKey)
    assert _pem(private.public_key()) == signer.public_key_pem()
    assert signer.algorithm == ED25519
    assert sorted(p.name for p in path.parent.iterdir()) == ["ed25519.pem"]  # no temporary file left


def test_key_is_reused_afterwards(tmp_path):
    first = LocalSigner.load_or_create(tmp_path)
    before = key_path(tmp_path).read_bytes()

    second = LocalSigner.load_or_create(tmp_path)

    assert second.fingerprint() == first.fingerprint()
    assert key_path(tmp_path).read_bytes() == before
    assert verify_signature(first.public_key_pem(), ED25519, b"evidence", second.sign(b"evidence"))


def test_default_data_dir_is_phiwatch_home_else_the_user_data_dir(tmp_path, monkeypatch):
    from platformdirs import user_data_dir

    monkeypatch.setenv("PHIWATCH_HOME", str(tmp_path / "home"))
    assert default_data_dir() == tmp_path / "home"
    signer = LocalSigner.load_or_create()
    assert fingerprint_of(signer.public_key_pem()) == LocalSigner.load_or_create(tmp_path / "home").fingerprint()

    monkeypatch.delenv("PHIWATCH_HOME")
    assert default_data_dir() == Path(user_data_dir("phiwatch"))


def test_threads_racing_to_create_the_key_end_with_one_key(tmp_path, monkeypatch):
    racers = 4
    barrier = threading.Barrier(racers, timeout=30)
    generate = signing._new_private_key

    def generate_then_wait() -> ed25519.Ed25519PrivateKey:
        key = generate()
        barrier.wait()  # every thread has seen no key file and made its own key
        return key

    monkeypatch.setattr(signing, "_new_private_key", generate_then_wait)
    results: list[LocalSigner] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            results.append(LocalSigner.load_or_create(tmp_path))
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(racers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert not errors
    stored = serialization.load_pem_private_key(key_path(tmp_path).read_bytes(), password=None)
    assert {signer.fingerprint() for signer in results} == {fingerprint_of(_pem(stored.public_key()))}
    assert len(results) == racers
    assert sorted(p.name for p in key_path(tmp_path).parent.iterdir()) == ["ed25519.pem"]


_RACER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from phiwatch.evidence import signing

    start = float(sys.argv[2])
    generate = signing._new_private_key

    def generate_then_wait():
        key = generate()
        time.sleep(max(0.0, start - time.time()))
        return key

    signing._new_private_key = generate_then_wait
    print(signing.LocalSigner.load_or_create(Path(sys.argv[1])).fingerprint())
    """
)


def test_processes_racing_to_create_the_key_end_with_one_key(tmp_path):
    start = time.time() + 4  # both processes have checked for the key file and made a key by then
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _RACER, str(tmp_path), str(start)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    outputs = [proc.communicate(timeout=60) for proc in procs]

    assert [proc.returncode for proc in procs] == [0, 0], outputs
    fingerprints = {out.strip() for out, _ in outputs}
    assert fingerprints == {LocalSigner.load_or_create(tmp_path).fingerprint()}


@posix_only
def test_a_key_file_others_can_read_is_refused(tmp_path):
    LocalSigner.load_or_create(tmp_path)
    key_path(tmp_path).chmod(0o644)

    with pytest.raises(UsageError, match="chmod 600"):
        LocalSigner.load_or_create(tmp_path)


def test_a_key_file_that_is_not_ed25519_is_a_clear_error(tmp_path):
    path = key_path(tmp_path)
    path.parent.mkdir(parents=True)
    other = ec.generate_private_key(ec.SECP256R1())
    path.write_bytes(other.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    path.chmod(0o600)

    with pytest.raises(UsageError, match="not an Ed25519 key"):
        LocalSigner.load_or_create(tmp_path)

    path.write_bytes(b"not a key")
    with pytest.raises(UsageError, match="not an unencrypted PKCS8 PEM private key"):
        LocalSigner.load_or_create(tmp_path)


# --- fingerprints and signatures ---------------------------------------------------------------


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl")
def test_fingerprint_is_the_sha256_of_the_der_public_key_as_openssl_computes_it(tmp_path):
    signer = LocalSigner.generate()
    (tmp_path / "public_key.pem").write_bytes(signer.public_key_pem())
    der = subprocess.run(
        ["openssl", "pkey", "-pubin", "-in", "public_key.pem", "-outform", "DER"], cwd=tmp_path, capture_output=True, check=True
    ).stdout

    assert signer.fingerprint() == "SHA256:" + hashlib.sha256(der).hexdigest()
    assert fingerprint_of(signer.public_key_pem()) == signer.fingerprint()
    assert LocalSigner.generate().fingerprint() != signer.fingerprint()


def _local_signatures() -> list[tuple[str, bytes, bytes]]:
    """(algorithm, public key PEM, signature of b"data") made with cryptography directly."""
    data = b"data"
    ed = ed25519.Ed25519PrivateKey.generate()
    ecdsa = ec.generate_private_key(ec.SECP256R1())
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pss_digest = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.DIGEST_LENGTH)  # what AWS KMS uses
    pss_max = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.MAX_LENGTH)  # what moto uses
    return [
        (ED25519, _pem(ed.public_key()), ed.sign(data)),
        (ECDSA_SHA256, _pem(ecdsa.public_key()), ecdsa.sign(data, ec.ECDSA(hashes.SHA256()))),
        (RSA_PSS_SHA256, _pem(rsa_key.public_key()), rsa_key.sign(data, pss_digest, hashes.SHA256())),
        (RSA_PSS_SHA256, _pem(rsa_key.public_key()), rsa_key.sign(data, pss_max, hashes.SHA256())),
        (RSA_PKCS1V15_SHA256, _pem(rsa_key.public_key()), rsa_key.sign(data, padding.PKCS1v15(), hashes.SHA256())),
    ]


@pytest.mark.parametrize(
    ("algorithm", "public_pem", "signature"), _local_signatures(), ids=["ed25519", "ecdsa", "pss-digest-salt", "pss-max-salt", "pkcs1"]
)
def test_verify_signature_accepts_each_algorithm_and_rejects_other_data(algorithm, public_pem, signature):
    assert verify_signature(public_pem, algorithm, b"data", signature)
    assert not verify_signature(public_pem, algorithm, b"Data", signature)
    assert not verify_signature(public_pem, algorithm, b"data", bytes([signature[0] ^ 1]) + signature[1:])
    for other in ALGORITHMS:
        if other != algorithm and not {other, algorithm} <= {RSA_PSS_SHA256, RSA_PKCS1V15_SHA256}:
            assert not verify_signature(public_pem, other, b"data", signature)  # a key of another type


def test_verify_signature_rejects_rsa_padding_of_the_other_kind():
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pkcs1 = key.sign(b"data", padding.PKCS1v15(), hashes.SHA256())

    assert not verify_signature(_pem(key.public_key()), RSA_PSS_SHA256, b"data", pkcs1)


def test_verify_signature_of_an_unknown_algorithm_or_a_bad_key_is_a_value_error():
    signer = LocalSigner.generate()
    with pytest.raises(ValueError, match="unknown signature algorithm"):
        verify_signature(signer.public_key_pem(), "ed448", b"data", signer.sign(b"data"))
    with pytest.raises(ValueError):
        verify_signature(b"-----BEGIN PUBLIC KEY-----\nnope\n-----END PUBLIC KEY-----\n", ED25519, b"data", signer.sign(b"data"))


# --- KMS (moto) ------------------------------------------------------------------------------


@pytest.fixture
def kms():
    with mock_aws():
        yield boto3.client("kms", region_name="us-east-1")


def _key(kms, spec: str, usage: str = "SIGN_VERIFY") -> str:
    return kms.create_key(KeySpec=spec, KeyUsage=usage)["KeyMetadata"]["KeyId"]


@pytest.mark.parametrize(
    ("spec", "algorithm"), [("ECC_NIST_P256", ECDSA_SHA256), ("RSA_2048", RSA_PSS_SHA256), ("RSA_3072", RSA_PSS_SHA256)]
)
def test_kms_signer_signs_with_the_keys_algorithm(kms, spec, algorithm):
    key_id = _key(kms, spec)

    signer = KmsSigner(kms, key_id)

    assert signer.algorithm == algorithm
    der = kms.get_public_key(KeyId=key_id)["PublicKey"]
    assert signer.public_key_pem() == _pem(serialization.load_der_public_key(der))
    assert signer.fingerprint() == "SHA256:" + hashlib.sha256(der).hexdigest()
    message = b"x" * KMS_RAW_LIMIT  # the largest message sent as it is
    signature = signer.sign(message)
    assert verify_signature(signer.public_key_pem(), algorithm, message, signature)
    assert not verify_signature(signer.public_key_pem(), algorithm, message + b"!", signature)


def test_kms_signer_takes_an_alias(kms):
    key_id = _key(kms, "ECC_NIST_P256")
    kms.create_alias(AliasName="alias/evidence", TargetKeyId=key_id)

    signer = KmsSigner(kms, "alias/evidence")

    assert signer.key_id == key_id  # later signatures name the key itself, not the alias
    assert verify_signature(signer.public_key_pem(), ECDSA_SHA256, b"m", signer.sign(b"m"))


class _WithoutPss:
    """A KMS client whose RSA keys offer no RSASSA-PSS (the PKCS #1 v1.5 fallback)."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self.meta = client.meta

    def get_public_key(self, **params: Any) -> dict[str, Any]:
        response = dict(self._client.get_public_key(**params))
        response["SigningAlgorithms"] = [a for a in response["SigningAlgorithms"] if not a.startswith("RSASSA_PSS")]
        return response

    def sign(self, **params: Any) -> dict[str, Any]:
        return self._client.sign(**params)


def test_kms_rsa_key_without_pss_signs_pkcs1_v1_5(kms):
    signer = KmsSigner(_WithoutPss(kms), _key(kms, "RSA_2048"))

    assert signer.algorithm == RSA_PKCS1V15_SHA256
    assert verify_signature(signer.public_key_pem(), RSA_PKCS1V15_SHA256, b"m", signer.sign(b"m"))


def test_kms_sends_messages_over_4096_bytes_as_their_sha256_digest(kms):
    signer = KmsSigner(kms, _key(kms, "ECC_NIST_P256"))
    sent: list[dict[str, Any]] = []
    kms.meta.events.register("provide-client-params.kms.Sign", lambda params, **_: sent.append(dict(params)))
    large = os.urandom(KMS_RAW_LIMIT + 1)

    signer.sign(b"small")
    try:
        signer.sign(large)
    except CannotRunError:
        # moto 5 ignores MessageType=DIGEST and signs the digest as if it were the message; the
        # signer checks each signature it gets back and refuses one that does not verify
        pass

    assert [(p["MessageType"], p["Message"]) for p in sent] == [("RAW", b"small"), ("DIGEST", hashlib.sha256(large).digest())]
    assert [p["SigningAlgorithm"] for p in sent] == ["ECDSA_SHA_256", "ECDSA_SHA_256"]


class _KmsLikeAws:
    """Sign and GetPublicKey as AWS KMS answers them for DIGEST messages (moto does not), on a local key."""

    def __init__(self, private_key: Any, signing_algorithms: list[str]) -> None:
        self.private_key = private_key
        self.signing_algorithms = signing_algorithms
        self.calls: list[dict[str, Any]] = []

    def get_public_key(self, KeyId: str) -> dict[str, Any]:
        der = self.private_key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        arn = f"arn:aws:kms:us-east-1:111122223333:key/{KeyId}"
        return {"KeyId": arn, "PublicKey": der, "KeyUsage": "SIGN_VERIFY", "SigningAlgorithms": self.signing_algorithms}

    def sign(self, KeyId: str, Message: bytes, MessageType: str, SigningAlgorithm: str) -> dict[str, Any]:
        self.calls.append({"KeyId": KeyId, "MessageType": MessageType, "SigningAlgorithm": SigningAlgorithm})
        assert MessageType == "RAW" and len(Message) <= 4096 or MessageType == "DIGEST" and len(Message) == 32
        algorithm: Any = utils.Prehashed(hashes.SHA256()) if MessageType == "DIGEST" else hashes.SHA256()
        if SigningAlgorithm == "ECDSA_SHA_256":
            signature = self.private_key.sign(Message, ec.ECDSA(algorithm))
        elif SigningAlgorithm == "RSASSA_PSS_SHA_256":
            pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.DIGEST_LENGTH)
            signature = self.private_key.sign(Message, pss, algorithm)
        else:
            signature = self.private_key.sign(Message, padding.PKCS1v15(), algorithm)
        return {"KeyId": KeyId, "Signature": signature, "SigningAlgorithm": SigningAlgorithm}


@pytest.mark.parametrize(
    ("offered", "kms_algorithm", "algorithm"),
    [
        (["ECDSA_SHA_256"], "ECDSA_SHA_256", ECDSA_SHA256),
        (["RSASSA_PKCS1_V1_5_SHA_256", "RSASSA_PSS_SHA_256", "RSASSA_PSS_SHA_512"], "RSASSA_PSS_SHA_256", RSA_PSS_SHA256),
        (["RSASSA_PKCS1_V1_5_SHA_256", "RSASSA_PKCS1_V1_5_SHA_512"], "RSASSA_PKCS1_V1_5_SHA_256", RSA_PKCS1V15_SHA256),
    ],
    ids=["ecdsa", "rsa-pss", "rsa-pkcs1"],
)
def test_kms_digest_signatures_verify_as_signatures_of_the_message(offered, kms_algorithm, algorithm):
    private_key = (
        ec.generate_private_key(ec.SECP256R1())
        if algorithm == ECDSA_SHA256
        else rsa.generate_private_key(public_exponent=65537, key_size=2048)
    )
    client = _KmsLikeAws(private_key, offered)
    signer = KmsSigner(client, "1234abcd-12ab-34cd-56ef-1234567890ab")
    large = os.urandom(3 * KMS_RAW_LIMIT)

    signature = signer.sign(large)

    assert signer.algorithm == algorithm
    arn = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    assert client.calls == [{"KeyId": arn, "MessageType": "DIGEST", "SigningAlgorithm": kms_algorithm}]
    assert verify_signature(signer.public_key_pem(), algorithm, large, signature)


@pytest.mark.parametrize("spec", ["SYMMETRIC_DEFAULT", "RSA_2048"])
def test_kms_key_not_for_signing_is_a_clear_error(kms, spec):
    key_id = _key(kms, spec, usage="ENCRYPT_DECRYPT")

    with pytest.raises(UsageError, match=r"key usage ENCRYPT_DECRYPT, not SIGN_VERIFY") as raised:
        KmsSigner(kms, key_id)
    assert key_id in str(raised.value)
    assert raised.value.exit_code == 2


def test_kms_key_spec_without_a_supported_algorithm_is_a_clear_error(kms):
    key_id = _key(kms, "ECC_NIST_P384")  # ECDSA_SHA_384 only

    with pytest.raises(UsageError, match=r"key spec ECC_NIST_P384\) offers ECDSA_SHA_384; phiwatch signs with ECDSA_SHA_256"):
        KmsSigner(kms, key_id)


def test_kms_key_not_found_is_a_clear_error(kms):
    with pytest.raises(UsageError, match=r"KMS key alias/missing not found in us-east-1"):
        KmsSigner(kms, "alias/missing")


def test_kms_access_denied_is_a_clear_error():
    client = boto3.client("kms", region_name="us-east-1")
    with Stubber(client) as stub:
        stub.add_client_error(
            "get_public_key", service_error_code="AccessDeniedException", service_message="not authorized to perform kms:GetPublicKey"
        )
        with pytest.raises(CannotRunError, match=r"access denied to kms:GetPublicKey on key alias/evidence in us-east-1") as raised:
            KmsSigner(client, "alias/evidence")
    assert "kms:Sign" in str(raised.value)


def test_kms_access_denied_when_signing_is_a_clear_error():
    client = boto3.client("kms", region_name="us-east-1")
    key = ec.generate_private_key(ec.SECP256R1())
    der = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    with Stubber(client) as stub:
        stub.add_response(
            "get_public_key",
            {
                "KeyId": "arn:aws:kms:us-east-1:111122223333:key/k",
                "PublicKey": der,
                "KeyUsage": "SIGN_VERIFY",
                "SigningAlgorithms": ["ECDSA_SHA_256"],
            },
        )
        stub.add_client_error("sign", service_error_code="AccessDeniedException", service_message="denied")
        signer = KmsSigner(client, "k")
        with pytest.raises(CannotRunError, match=r"access denied to kms:Sign on key k"):
            signer.sign(b"m")
