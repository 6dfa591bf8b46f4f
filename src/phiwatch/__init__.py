"""phiwatch: keep AWS estates HIPAA compliant."""

__version__ = "0.1.0"
