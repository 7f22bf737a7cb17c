"""medcite's command line: a thin skin over :class:`medcite.service.Medcite`.

Each command parses its input, calls the service and renders; errors are mapped once in
``medcite.cli.common._errors``.
"""

from medcite.cli.common import app
from medcite.cli import answers, corpus, evaluate, llm, sync, web  # noqa: F401  (register commands)


def main() -> None:
    app()


__all__ = ["app", "main"]
