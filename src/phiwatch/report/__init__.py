"""Reports: scan output in table, JSON (contract), CSV and OCSF forms."""
