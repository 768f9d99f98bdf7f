"""``python -m strideguard``."""

import sys

from strideguard.cli import main

sys.exit(main())
