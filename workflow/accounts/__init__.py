"""People: password hashing, user administration, API tokens, access codes."""
