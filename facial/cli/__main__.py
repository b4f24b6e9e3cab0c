"""``python -m facial.cli …`` (and ``torchrun … -m facial.cli …``): the ``facial`` command."""
import sys

from facial.cli import main

sys.exit(main())
