"""Runs the demo-model tool tests (ctest's demo_model_tools). Exits 77, which ctest reports as skipped,
when numpy is missing (Debian: python3-numpy); tests that need PyTorch or the built
library skip themselves."""

import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))

try:
    import numpy  # noqa: F401
except ImportError as error:
    print(f"skipped: {error} (install python3-numpy)")
    sys.exit(77)

suite = unittest.defaultTestLoader.discover(HERE, top_level_dir=HERE)
result = unittest.TextTestRunner(verbosity=2).run(suite)
sys.exit(0 if result.wasSuccessful() else 1)
