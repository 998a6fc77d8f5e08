"""What the operator sees: readiness (``/readyz``), metrics (``/metrics``), the request
context of every log line, error reporting, backups. See README.md, "Running it"."""
