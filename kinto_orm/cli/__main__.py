"""``python -m kinto_orm.cli``: the ``kinto-orm`` command."""

import sys

from .main import main

sys.exit(main())
