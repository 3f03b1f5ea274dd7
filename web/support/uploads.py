"""Uploaded files: size-limited (MAX_CONTENT_LENGTH), stored under generated
names outside the static folder, type checked by content (not by the name or
the browser's claim), served back only as attachments with ``nosniff``."""

from __future__ import annotations

import hashlib
import secrets
from pathlib import Path

from flask import current_app, send_file
from werkzeug.datastructures import FileStorage

from workflow.kernel.errors import ValidationError

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


def store(upload: FileStorage | None) -> dict:
    """Save an upload under a generated name; return what the engine records."""
    if upload is None or not upload.filename:
        raise ValidationError("Choose a file to upload.")
    data = upload.read(current_app.config["MAX_CONTENT_LENGTH"] + 1)
    if len(data) > current_app.config["MAX_CONTENT_LENGTH"]:
        raise ValidationError("The file is too large.")
    if not data:
        raise ValidationError("The file is empty.")
    content_type = sniff(data[:16], upload.filename)
    storage_name = secrets.token_hex(16)
    folder = Path(current_app.config["UPLOAD_FOLDER"])
    folder.mkdir(parents=True, exist_ok=True)
    (folder / storage_name).write_bytes(data)
    return {"original_name": Path(upload.filename).name or "file", "storage_name": storage_name,
            "content_type": content_type, "size": len(data),
            "sha256": hashlib.sha256(data).hexdigest()}


def discard(storage_name: str) -> None:
    """Remove a stored file whose database record was rolled back."""
    (Path(current_app.config["UPLOAD_FOLDER"]) / storage_name).unlink(missing_ok=True)


def serve(attachment):
    path = Path(current_app.config["UPLOAD_FOLDER"]) / attachment.storage_name
    response = send_file(path, mimetype=attachment.content_type, as_attachment=True,
                         download_name=attachment.original_name)
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
