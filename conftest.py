"""Repository-wide pytest setup: plugin failures are errors in every test of this repository.

Plugins load lazily, so setting the variable here, before any test builds the process-wide
plugin system, is enough. tests/conftest.py adds the core suite's fixtures.
"""

import os

os.environ.setdefault("METHODLAB_STRICT_PLUGINS", "1")
