"""The daemon's HTTP API (``/v1``): handlers that parse, call `daemon.operations`, serialise."""
