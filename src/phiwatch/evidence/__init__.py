"""Evidence for auditors: the HIPAA report, point-in-time answers, attestations and signed evidence packs."""
