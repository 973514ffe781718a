"""`python -m indexer [PATH] [--rebuild] [--quiet] [--json]`: the same as `citeline index`."""

from indexer.cli import main

if __name__ == "__main__":
    main()
