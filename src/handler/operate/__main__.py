"""``python -m operate status ...`` (see operate.cli)."""

import sys

from operate.cli import main

sys.exit(main())
