"""Entry point of the frozen app: `quarry` with a command (index, search, …) or
--smoke-test runs the command line; anything else opens the window."""

from __future__ import annotations

import multiprocessing
import sys

CLI_WORDS = {"index", "watch", "search", "models", "status", "remove", "eval", "--smoke-test", "-h", "--help"}


def main() -> int:
    # Extraction runs in a spawned child process; in a frozen app the child is this same
    # executable, and freeze_support() turns it into the worker instead of a second app.
    multiprocessing.freeze_support()
    args = sys.argv[1:]
    if CLI_WORDS.intersection(args):
        from app.cli import main as cli

        return cli(args)
    from app.main import main as gui

    return gui(args)


if __name__ == "__main__":
    sys.exit(main())
