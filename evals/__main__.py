"""`python -m evals` runs the same command as `citeline eval`."""

from __future__ import annotations

import typer

from evals.cli import eval_command


def main() -> None:
    typer.run(eval_command)


if __name__ == "__main__":
    main()
