"""HIPAA rules: pack files (metadata) plus one module of rule functions per service."""
