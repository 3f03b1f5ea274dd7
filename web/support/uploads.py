"""Uploaded files: size-limited (MAX_CONTENT_LENGTH), stored under generated
names outside the static folder, type checked by content (not by the name or
the browser's claim), served back only as attachments with ``nosniff``.

A file lands under its name only once the request's transaction that records
it has committed: ``store`` writes it under a temporary name
(``<name>.part``), the session's commit moves it into place, and a rollback
(a refusal, a database error, the request's end without a commit) deletes
it. So no file stays behind without its row (``daiban files check`` reports
any that a crash left, and rows whose file is missing). The name the user
gave is kept for the download only, cleaned of control characters (a NUL
made PostgreSQL refuse the row) and of any folder part."""

from __future__ import annotations

import hashlib
import logging
import os
import secrets
import unicodedata
from pathlib import Path, PureWindowsPath
from typing import Annotated, Any

from flask import current_app, send_file
from pydantic import PlainValidator, WithJsonSchema
from sqlalchemy import event
from sqlalchemy.orm import Session
from werkzeug.datastructures import FileStorage

from web.support.db import db
from workflow.kernel.errors import ValidationError

log = logging.getLogger("daiban.web")
PART = ".part"  # the suffix of a file whose row has not committed yet
_PENDING = "daiban_uploads"  # Session.info: the files waiting for the commit

# Magic numbers of the file kinds an approval file needs.
SIGNATURES: list[tuple[bytes, str, str]] = [
    (b"%PDF-", "application/pdf", ".pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png", ".png"),
    (b"\xff\xd8\xff", "image/jpeg", ".jpg"),
    (b"PK\x03\x04", "application/zip", ".zip"),  # also docx/xlsx/ofd
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "application/x-ole-storage", ".doc"),
]
OFFICE = {".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
          ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
          ".ofd": "application/ofd"}


def _a_file(value: Any) -> FileStorage:
    if not isinstance(value, FileStorage):
        raise ValueError("file_type")
    return value


# A file field of a form's declared model (``web.support.inputs``): an upload
# as the browser sent it (a field left empty arrives without a name, which
# ``store`` refuses with a clear message); its content is checked by ``store``.
UploadedFile = Annotated[Any, PlainValidator(_a_file),
                         WithJsonSchema({"type": "string", "format": "binary"})]


def sniff(head: bytes, filename: str) -> str:
    """The content type by content, or ValidationError for anything else."""
    for magic, content_type, _ext in SIGNATURES:
        if head.startswith(magic):
            suffix = Path(filename).suffix.lower()
            if content_type == "application/zip" and suffix in OFFICE:
                return OFFICE[suffix]
            return content_type
    raise ValidationError("Only PDF, PNG, JPEG, Office (doc/docx/xlsx), OFD or ZIP files "
                          "are accepted.")


def clean_name(filename: str) -> str:
    """The name to show for an upload: its last path part (either slash),
    without control or format characters (NUL, newlines, bidi overrides),
    at most 255 characters; "file" if nothing is left."""
    name = PureWindowsPath(filename.replace("\x00", "")).name  # splits on / and \\ both
    name = "".join(ch for ch in name if not unicodedata.category(ch).startswith("C")).strip()
    if len(name) > 255:
        stem, suffix = os.path.splitext(name)
        name = stem[:255 - len(suffix[:16])] + suffix[:16]
    return name if name not in ("", ".", "..") else "file"


def store(upload: FileStorage | None) -> dict:
    """Save an upload under a generated name, to be kept when the request's
    session commits (see the module); return what the engine records."""
    if upload is None or not upload.filename:
        raise ValidationError("Choose a file to upload.")
    data = upload.read(current_app.config["MAX_CONTENT_LENGTH"] + 1)
    if len(data) > current_app.config["MAX_CONTENT_LENGTH"]:
        raise ValidationError("The file is too large.")
    if not data:
        raise ValidationError("The file is empty.")
    original_name = clean_name(upload.filename)
    content_type = sniff(data[:16], original_name)
    storage_name = secrets.token_hex(16)
    folder = Path(current_app.config["UPLOAD_FOLDER"])
    folder.mkdir(parents=True, exist_ok=True)
    session = db()
    session.connection()  # in a transaction now, so that its end keeps or drops the file
    _pending(session).append(folder / storage_name)
    (folder / (storage_name + PART)).write_bytes(data)
    return {"original_name": original_name, "storage_name": storage_name,
            "content_type": content_type, "size": len(data),
            "sha256": hashlib.sha256(data).hexdigest()}


def discard(storage_name: str) -> None:
    """Remove a stored file whose database record was rolled back (the
    rollback already did; kept for callers that clean up themselves)."""
    folder = Path(current_app.config["UPLOAD_FOLDER"])
    for path in (folder / storage_name, folder / (storage_name + PART)):
        path.unlink(missing_ok=True)


def _pending(session: Session) -> list[Path]:
    """The session's files waiting for its commit; the first call hooks the
    session's commit (move them into place) and transaction end (drop them)."""
    if _PENDING not in session.info:
        session.info[_PENDING] = []
        event.listen(session, "after_commit", _keep)
        event.listen(session, "after_transaction_end", _drop)
    return session.info[_PENDING]


def _keep(session: Session) -> None:
    for path in session.info.get(_PENDING, ()):
        try:
            os.replace(path.with_name(path.name + PART), path)
        except OSError:  # the row is committed; `daiban files check` reports the gap
            log.exception("an uploaded file could not be kept: %s", path.name)
    session.info[_PENDING] = []


def _drop(session: Session, transaction) -> None:
    if transaction.parent is not None:
        return
    for path in session.info.get(_PENDING, ()):
        path.with_name(path.name + PART).unlink(missing_ok=True)
    session.info[_PENDING] = []


def serve(attachment):
    path = Path(current_app.config["UPLOAD_FOLDER"]) / attachment.storage_name
    response = send_file(path, mimetype=attachment.content_type, as_attachment=True,
                         download_name=attachment.original_name)
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
