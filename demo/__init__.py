"""The demo zone: seeds a fresh database with a working zone (``daiban demo``)."""
