"""``python -m rofr`` runs the command."""

from rofr.cli import main

main()
