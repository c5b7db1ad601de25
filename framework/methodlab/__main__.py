"""``python -m methodlab`` runs the command line (also under ``torchrun``)."""

import sys

from methodlab.cli import main

sys.exit(main())
