"""Daiban's workflow engine: models, state machines, operations, the statutory
clock and the queries users wait on. Never imports Flask."""
