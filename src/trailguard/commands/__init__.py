"""The `trailguard` subcommands, one module each; `cli.py` parses and dispatches."""
