"""Entry point of newswatch (`python main.py COMMAND`, or the `newswatch` script): the command
line is in bot/cli/, the wiring of the components in bot/app/composition.py."""

from __future__ import annotations

import gc
import sys

if __name__ == "__main__":
    # Run as a script: no cyclic garbage collection while the modules load. Loading them
    # builds hundreds of thousands of long-lived objects (classes, functions, constants),
    # and the collector walked them about a hundred times before the command started
    # (20-30 ms of CPU, a twentieth of a warm `poll --once`; docs/performance.md, "Warm
    # cycle pass (stop 27)"). They are frozen below (gc.freeze: never examined again, as
    # `run` and `poll --once` also do once the service is built) and the collector is back
    # on before the command runs.
    gc.disable()

from bot.cli.entry import main  # after the collector is paused

__all__ = ["main"]

if __name__ == "__main__":
    gc.freeze()
    gc.enable()
    sys.exit(main())
