"""``python -m derived.bench``: run the command line of :mod:`derived.bench`."""

import sys

from derived.bench.run import main

sys.exit(main())
