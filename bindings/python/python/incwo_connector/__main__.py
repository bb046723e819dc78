"""``python -m incwo_connector``: the ``incwo-py`` command line."""

import sys

from .cli import main

sys.exit(main())
