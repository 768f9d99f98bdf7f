"""One module per CLI command (see :mod:`strideguard.cli`)."""
