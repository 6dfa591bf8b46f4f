"""Service models read from compact copies, by one thread at a time (phiwatch/aws/models.py)."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import boto3
import botocore.session
import pytest
from botocore.loaders import Loader
from moto import mock_aws

from phiwatch.aws import models
from phiwatch.aws.models import CompactFileLoader, SharedLoader, create_loader, without_documentation


def _botocore_model(service: str) -> Any:
    return Loader().load_service_model(service, "service-2")


def _client(loader: Loader, service: str) -> Any:
    session = botocore.session.get_session()
    session.register_component("data_loader", loader)
    return boto3.Session(botocore_session=session, region_name="us-east-1").client(service)


def test_documentation_strings_are_emptied_and_nothing_else_changes() -> None:
    model = {
        "documentation": "<p>The service.</p>",
        "clientContextParams": {"Accelerate": {"documentation": "Enables it.", "type": "boolean"}},
        "shapes": {
            # a member named "documentation" is a shape reference, not text: it stays
            "Part": {"type": "structure", "members": {"documentation": {"shape": "String", "documentation": "The text."}}},
            "List": {"type": "list", "member": {"shape": "Part"}, "documentationUrl": "https://example.com"},
        },
    }
    assert without_documentation(model) == {
        "documentation": "",
        "clientContextParams": {"Accelerate": {"documentation": "", "type": "boolean"}},
        "shapes": {
            "Part": {"type": "structure", "members": {"documentation": {"shape": "String", "documentation": ""}}},
            "List": {"type": "list", "member": {"shape": "Part"}, "documentationUrl": ""},
        },
    }


def test_a_model_is_parsed_once_then_read_from_its_compact_copy(tmp_path: Path) -> None:
    first = Loader(file_loader=CompactFileLoader(tmp_path)).load_service_model("s3", "service-2")
    copies = list(tmp_path.glob("s3-*.json"))
    assert len(copies) == 1
    original = _botocore_model("s3")
    assert first == without_documentation(original)
    assert first["operations"].keys() == original["operations"].keys()
    assert copies[0].stat().st_size < len(json.dumps(original)) / 3

    # a second loader reads the copy: what the copy says is what it gets
    edited = json.loads(copies[0].read_text())
    edited["metadata"]["serviceFullName"] = "read from the copy"
    copies[0].write_text(json.dumps(edited))
    again = Loader(file_loader=CompactFileLoader(tmp_path)).load_service_model("s3", "service-2")
    assert again["metadata"]["serviceFullName"] == "read from the copy"


def test_only_service_models_are_copied(tmp_path: Path) -> None:
    loader = Loader(file_loader=CompactFileLoader(tmp_path))
    paginators = loader.load_service_model("s3", "paginators-1")
    assert paginators == Loader().load_service_model("s3", "paginators-1")
    assert list(tmp_path.iterdir()) == []


def test_an_unreadable_copy_is_parsed_again_and_replaced(tmp_path: Path) -> None:
    Loader(file_loader=CompactFileLoader(tmp_path)).load_service_model("acm", "service-2")
    (copy,) = tmp_path.glob("acm-*.json")
    copy.write_text('{"truncated": ')
    model = Loader(file_loader=CompactFileLoader(tmp_path)).load_service_model("acm", "service-2")
    assert model == without_documentation(_botocore_model("acm"))
    assert json.loads(copy.read_text()) == model


def test_a_cache_that_cannot_be_written_is_no_error(tmp_path: Path) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("not a directory")
    model = Loader(file_loader=CompactFileLoader(blocked / "models")).load_service_model("kms", "service-2")
    assert model == without_documentation(_botocore_model("kms"))


def test_the_cache_directory_follows_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PHIWATCH_CACHE_DIR", str(tmp_path))
    assert models.cache_dir() == tmp_path / "botocore-models"
    monkeypatch.setenv("PHIWATCH_CACHE_DIR", "off")
    assert models.cache_dir() is None
    assert create_loader(None).file_loader.directory is None
    monkeypatch.delenv("PHIWATCH_CACHE_DIR")
    assert models.cache_dir() is not None and models.cache_dir().name == "botocore-models"  # type: ignore[union-attr]


def test_aws_data_path_is_searched_first(tmp_path: Path) -> None:
    loader = create_loader(str(tmp_path / "models"))
    assert loader.search_paths[0] == str(tmp_path / "models")


@mock_aws
def test_clients_built_from_compact_models_call_aws(tmp_path: Path) -> None:
    loader = SharedLoader(file_loader=CompactFileLoader(tmp_path))
    s3 = _client(loader, "s3")
    s3.create_bucket(Bucket="phiwatch-compact")
    s3.put_bucket_versioning(Bucket="phiwatch-compact", VersioningConfiguration={"Status": "Enabled"})
    assert [b["Name"] for b in s3.list_buckets()["Buckets"]] == ["phiwatch-compact"]
    assert s3.get_bucket_versioning(Bucket="phiwatch-compact")["Status"] == "Enabled"
    # ACM's endpoint rules read its client context parameters' documentation keys
    assert _client(loader, "acm").list_certificates()["CertificateSummaryList"] == []
    assert len(list(tmp_path.glob("s3-*.json"))) == len(list(tmp_path.glob("acm-*.json"))) == 1


class _Counting(SharedLoader):
    """Counts the work behind the loader's caches: directory listings and model files parsed."""

    def __init__(self, directory: Path) -> None:
        self.listings = 0
        self.parsed: list[str] = []
        outer = self

        class Files(CompactFileLoader):
            def load_file(self, file_path: str) -> Any:
                if file_path.endswith("service-2"):
                    outer.parsed.append(Path(file_path).parent.parent.name)
                return super().load_file(file_path)

        super().__init__(file_loader=Files(directory))

    def _potential_locations(self, name: str | None = None, must_exist: bool = False, is_dir: bool = False) -> Any:
        if name is None:  # list_available_services walks every data directory
            self.listings += 1
        return super()._potential_locations(name, must_exist, is_dir)


SERVICES = ("ec2", "iam", "s3", "dynamodb")


def test_threads_creating_clients_at_once_load_each_model_once(tmp_path: Path) -> None:
    one_by_one = _Counting(tmp_path / "sequential")
    for service in SERVICES:
        _client(one_by_one, service)

    loader = _Counting(tmp_path / "threads")
    start = threading.Barrier(8)
    errors: list[BaseException] = []

    def build() -> None:
        try:
            start.wait()
            for service in SERVICES:
                _client(loader, service)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=build) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(loader.parsed) == sorted(SERVICES) == sorted(one_by_one.parsed)
    assert loader.listings == one_by_one.listings


def test_a_new_copy_replaces_the_older_copies_of_its_service(tmp_path: Path) -> None:
    older = tmp_path / ("s3-" + "0" * 32 + ".json")
    other = tmp_path / ("s3control-" + "0" * 32 + ".json")
    tmp_path.mkdir(exist_ok=True)
    older.write_text("{}")
    other.write_text("{}")
    Loader(file_loader=CompactFileLoader(tmp_path)).load_service_model("s3", "service-2")
    (copy,) = tmp_path.glob("s3-*.json")
    assert copy != older
    assert other.exists()
