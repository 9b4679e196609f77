"""``python -m reliefledger`` runs the command line."""

from reliefledger.cli import main

if __name__ == "__main__":
    main()
