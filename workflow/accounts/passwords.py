"""User accounts: password hashing with argon2id (the kernel's hasher, shared
with the access codes the core issues with a mandate)."""

from __future__ import annotations

from workflow.kernel.passwords import hash_password, verify_password

__all__ = ["hash_password", "verify_password"]
