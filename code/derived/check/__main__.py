"""``python -m derived.check``: grade a folder of submitted problem-set notebooks."""

import sys

from derived.check._grade import main

sys.exit(main())
