"""``python -m searchkit``: the same commands as the ``searchkit`` script."""

from searchkit.cli import main

if __name__ == "__main__":
    main()
