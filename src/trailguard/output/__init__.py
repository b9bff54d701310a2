"""How the CLI shows alerts: a readable table, JSON lines, or one JSON document."""
