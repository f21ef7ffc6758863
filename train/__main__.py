"""``python -m train``: see :mod:`train.train`."""

import sys

from .train import main

sys.exit(main())
