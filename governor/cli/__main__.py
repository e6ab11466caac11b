"""`python -m governor.cli ...`, as `governor serve` starts its scheduler child."""
import sys

from governor.cli import main

sys.exit(main())
