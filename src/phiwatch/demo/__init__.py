"""The demo healthcare estate and the `phiwatch demo` walk-through."""
