"""``python -m incwo_connector.quarantine``: the quarantine command line."""

import sys

from .cli import main

sys.exit(main())
