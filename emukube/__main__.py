"""`python -m emukube`: the same command as `emukube`."""

from .cli.app import main

main()
