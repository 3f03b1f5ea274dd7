"""The enterprise's online signature (在线签署), one rule for every text it
signs — a commitment letter, a 容缺 promise, the agency mandate and a change
of its scope: the signatory's typed name, an explicit consent, and the
SHA-256 of the text, which must be the text the signer was shown."""

from __future__ import annotations

import hashlib

from workflow.kernel.errors import Conflict, ValidationError

SIGNATORY_MAX = 200  # the columns' String(200)


def sha256_of(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def check_signature(text: str, *, signatory: str | None, consent: bool, what: str,
                    shown_sha256: str | None = None, shown_required: bool = False
                    ) -> tuple[str, str]:
    """``(signatory, digest)`` of a valid signature of ``text``, else a clear
    error that changes nothing: the name typed (at most 200 characters), the
    box ticked (``consent`` is True, not merely truthy), and — when given, or
    when ``shown_required`` — the digest of the text shown equal to the text's
    own (the user signed what they read; a text changed meanwhile is a
    ``Conflict``)."""
    name = (signatory or "").strip()
    if not name or len(name) > SIGNATORY_MAX:
        raise ValidationError("Type the signatory's name (at most {limit} characters) to sign.",
                              field="signatory", limit=SIGNATORY_MAX)
    if consent is not True:
        raise ValidationError("Tick the box to confirm the {what} before signing.",
                              field="consent", what=what)
    digest = sha256_of(text)
    if shown_required and not shown_sha256:
        raise ValidationError("The {what} must be read before it is signed.", field="sha256",
                              what=what)
    if shown_sha256 is not None and shown_sha256 != digest:
        raise Conflict("The {what} changed since it was shown; read it again before signing.",
                       what=what)
    return name, digest
