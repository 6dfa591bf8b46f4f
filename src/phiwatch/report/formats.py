"""Machine formats of a scan: JSON (the contract), CSV and OCSF 1.1 Compliance Findings."""

from __future__ import annotations

import csv
import io
import json
from typing import Any, TextIO

from phiwatch import __version__

CSV_FIELDS = [
    "rule_id",
    "compliance",
    "severity",
    "resource_type",
    "resource_id",
    "resource_name",
    "arn",
    "account_id",
    "region",
    "hipaa_sections",
    "annotation",
]

SEVERITY_ID = {"low": 2, "medium": 3, "high": 4, "critical": 5}
COMPLIANCE_STATUS = {
    "COMPLIANT": (1, "Pass"),
    "NON_COMPLIANT": (3, "Fail"),
    "NOT_APPLICABLE": (99, "Not applicable"),
    "INSUFFICIENT_DATA": (99, "Could not check"),
}


EVALUATION_FIELDS = (
    "rule_id",
    "resource_type",
    "resource_id",
    "resource_name",
    "arn",
    "account_id",
    "region",
    "compliance",
    "annotation",
    "hipaa_sections",
    "severity",
)
ERROR_FIELDS = ("service", "api", "region", "error", "iam_action", "resource_type", "resource_id")


def write_scan_json(scan: dict[str, Any], out: TextIO) -> None:
    """The JSON contract, written as the evaluations are read (the same text as ``json.dumps(..., indent=2)``)."""
    head = {k: scan[k] for k in ("scan_id", "started_at", "finished_at")}
    out.write("{\n")
    for key, value in head.items():
        out.write(f"  {json.dumps(key)}: {_nested(value, 1)},\n")
    out.write('  "evaluations": [')
    first = True
    for e in scan["evaluations"]:
        out.write("\n    " if first else ",\n    ")
        out.write(_nested({k: e[k] for k in EVALUATION_FIELDS}, 2))
        first = False
    out.write("]" if first else "\n  ]")
    errors = [{k: e.get(k) for k in ERROR_FIELDS} for e in scan["errors"]]
    out.write(f',\n  "errors": {_nested(errors, 1)}')
    if scan.get("excepted"):
        out.write(f',\n  "excepted": {_nested(scan["excepted"], 1)}')
    if scan.get("rules_not_run"):
        out.write(f',\n  "rules_not_run": {_nested(scan["rules_not_run"], 1)}')
    if scan.get("collection"):
        out.write(f',\n  "collection": {_nested(scan["collection"], 1)}')
    out.write("\n}\n")


def _nested(value: Any, level: int) -> str:
    """``value`` as ``json.dumps(indent=2)`` renders it ``level`` levels deep."""
    return json.dumps(value, indent=2).replace("\n", "\n" + "  " * level)


def scan_json(scan: dict[str, Any]) -> str:
    buffer = io.StringIO()
    write_scan_json(scan, buffer)
    return buffer.getvalue()


def write_scan_csv(scan: dict[str, Any], out: TextIO) -> None:
    writer = csv.DictWriter(out, fieldnames=CSV_FIELDS, extrasaction="ignore")
    writer.writeheader()
    for e in scan["evaluations"]:
        writer.writerow({**e, "hipaa_sections": ";".join(e["hipaa_sections"])})


def scan_csv(scan: dict[str, Any]) -> str:
    buffer = io.StringIO()
    write_scan_csv(scan, buffer)
    return buffer.getvalue()


def _epoch_ms(iso: str) -> int:
    import datetime as dt

    return int(dt.datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp() * 1000)


def ocsf_finding(e: dict[str, Any], scan: dict[str, Any]) -> dict[str, Any]:
    status_id, status = COMPLIANCE_STATUS.get(e["compliance"], (99, e["compliance"]))
    time_ms = _epoch_ms(e.get("evaluated_at") or scan["finished_at"])
    return {
        "class_uid": 2003,
        "class_name": "Compliance Finding",
        "category_uid": 2,
        "category_name": "Findings",
        "activity_id": 1,
        "activity_name": "Create",
        "type_uid": 200301,
        "severity_id": SEVERITY_ID.get(e["severity"], 0),
        "severity": e["severity"].capitalize(),
        "status_id": 1,
        "time": time_ms,
        "message": e["annotation"],
        "metadata": {
            "version": "1.1.0",
            "product": {"name": "phiwatch", "vendor_name": "phiwatch", "version": __version__},
            "correlation_uid": scan["scan_id"],
        },
        "finding_info": {
            "uid": f"{e['rule_id']}:{e['arn'] or e['resource_id']}",
            "title": e["rule_id"],
            "desc": e["annotation"],
            "created_time": time_ms,
        },
        "compliance": {
            "control": e["rule_id"],
            "requirements": e["hipaa_sections"],
            "standards": ["HIPAA Security Rule (45 CFR 164.308-164.316)"],
            "status_id": status_id,
            "status": status,
        },
        "cloud": {"provider": "AWS", "region": e["region"], "account": {"uid": e["account_id"], "type": "AWS Account"}},
        "resources": [
            {
                "uid": e["arn"] or e["resource_id"],
                "name": e["resource_name"],
                "type": e["resource_type"],
                "region": e["region"],
                "cloud_partition": "aws",
                "account": {"uid": e["account_id"]},
            }
        ],
    }


def write_scan_ocsf(scan: dict[str, Any], out: TextIO) -> None:
    """One OCSF Compliance Finding per line (JSON Lines), as SIEMs ingest them."""
    for e in scan["evaluations"]:
        out.write(json.dumps(ocsf_finding(e, scan)) + "\n")


def scan_ocsf(scan: dict[str, Any]) -> str:
    buffer = io.StringIO()
    write_scan_ocsf(scan, buffer)
    return buffer.getvalue()
