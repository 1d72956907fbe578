"""``python -m userops`` is the ``userops`` command (works where scripts are not on PATH)."""

from userops.cli.main import main

main()
