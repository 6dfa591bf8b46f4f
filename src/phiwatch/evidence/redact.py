"""What may leave the store in evidence: configuration items without values that can hold PHI or secrets.

A configuration item is evidence of *how* a resource is set up; some of its values are the
customer's data rather than settings. Those are replaced by :data:`REDACTED` (their keys stay,
so the auditor sees that a value was there):

* tag values whose key names a person's data (patient, name, birth date, SSN, MRN, email, phone,
  address, member or insurance id, diagnosis...);
* environment variables (Lambda, ECS container definitions, CodeBuild, Batch...), user data and
  launch scripts, parameter and secret values, and any key that names a secret (password, token,
  private key, connection string);
* every remaining string with a PHI-looking identifier masked (:func:`phiwatch.phi.mask_phi`).
"""

from __future__ import annotations

import re
from typing import Any

from phiwatch.phi import mask_phi

REDACTED = "[redacted]"

# tag keys naming a person's data: their values are data, not configuration
PHI_TAG_KEY = re.compile(
    r"(?i)(patient|person|name|first|last|surname|birth|dob|ssn|social|mrn|medical|record|member|insur|beneficiar|"
    r"diagnos|condition|email|e-mail|phone|mobile|address|street|zip|postal|city|contact)"
)
# keys whose whole value is free-form data: environment variables, user data, scripts, secrets
DATA_KEY = re.compile(
    r"(?i)^(environment|variables|environmentvariables|environment_variables|userdata|user_data|secrets?|"
    r"secretstring|secret_string|secretbinary|parametervalue|parameter_value|value_from|valuefrom|"
    r"commands?|script|buildspec|inline_?code|zipfile)$"
)
SECRET_KEY = re.compile(r"(?i)(password|passphrase|secret|token|private_?key|credential|connection_?string|api_?key)")
TAG_LISTS = ("tags", "tagset", "taglist")


def redact_item(item: dict[str, Any]) -> dict[str, Any]:
    """A copy of a configuration item (AWS Config's shape) safe to hand to an auditor."""
    return _walk(item, "")


def _walk(value: Any, key: str) -> Any:
    if isinstance(value, dict):
        if key.lower() in TAG_LISTS:
            return {_key(k): _tag_value(str(k), v) for k, v in value.items()}
        return {_key(k): (_redacted(v) if _is_data_key(str(k)) else _walk(v, str(k))) for k, v in value.items()}
    if isinstance(value, list):
        if key.lower() in TAG_LISTS:
            return [_tag_entry(v) if _is_tag(v) else _walk(v, key) for v in value]
        return [_walk(v, key) for v in value]
    if isinstance(value, str):
        return mask_phi(value)
    return value


def _key(key: Any) -> Any:
    """A key, masked like a value: a tag key can be named after a patient too."""
    return mask_phi(key) if isinstance(key, str) else key


def _is_data_key(key: str) -> bool:
    return bool(DATA_KEY.match(key) or SECRET_KEY.search(key))


def _redacted(value: Any) -> Any:
    """Keep the shape (names of variables, how many entries), drop the values."""
    if isinstance(value, dict):
        return {k: _redacted(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_redacted_entry(v) for v in value]
    if value is None or isinstance(value, bool):
        return value
    return REDACTED


def _redacted_entry(value: Any) -> Any:
    # ECS/CodeBuild style [{"name": "DB_HOST", "value": "..."}]: the name is a setting, the value is data
    if isinstance(value, dict) and ("name" in value or "Name" in value):
        return {k: (mask_phi(v) if k in ("name", "Name") and isinstance(v, str) else _redacted(v)) for k, v in value.items()}
    return _redacted(value)


def _is_tag(value: Any) -> bool:
    return isinstance(value, dict) and any(k in value for k in ("Key", "key")) and any(k in value for k in ("Value", "value"))


def _tag_entry(tag: dict[str, Any]) -> dict[str, Any]:
    key = str(tag.get("Key", tag.get("key", "")))
    value_key = "Value" if "Value" in tag else "value"
    return {**{k: _walk(v, k) for k, v in tag.items() if k != value_key}, value_key: _tag_value(key, tag[value_key])}


def _tag_value(key: str, value: Any) -> Any:
    # "Name" is the console's display name of a resource (masked like resource names); "PatientName" is data
    if key.lower() != "name" and (PHI_TAG_KEY.search(key) or SECRET_KEY.search(key)):
        return REDACTED
    return mask_phi(value) if isinstance(value, str) else value
