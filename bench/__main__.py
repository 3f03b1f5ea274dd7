"""``python -m bench [--quick] [--database-url URL] [--projects N]``."""

from bench.cli import main

raise SystemExit(main())
