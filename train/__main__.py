"""``python -m train``: see :mod:`train.options`."""

import sys

from .train import main

sys.exit(main())
