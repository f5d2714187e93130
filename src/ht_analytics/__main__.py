"""``python -m ht_analytics`` runs the command line."""

from .cli import main

main()
