"""The command line: typer adapters that parse, call one core function, and print."""
