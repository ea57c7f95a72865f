"""The ``rofr`` command: one entry point over every layer."""

from rofr.cli.app import cli, main

__all__ = ["cli", "main"]
