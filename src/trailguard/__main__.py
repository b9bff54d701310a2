"""`python -m trailguard` runs the command line."""

import sys

from trailguard.cli import main

sys.exit(main())
