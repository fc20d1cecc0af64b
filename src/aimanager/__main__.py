"""``python -m aimanager`` is the ``aimanager`` command."""

from aimanager.cli import main

main()
