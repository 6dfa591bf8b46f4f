"""Collectors: one module per AWS service, each turning describe calls into ConfigurationItems."""
