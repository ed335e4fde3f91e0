"""Reading an uploaded file from the request stream with a size limit, for the API and pages.

The body is read as it arrives and refused as soon as it passes the limit, before it is
stored anywhere; a declared length over the limit is refused before a byte is read.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection, Mapping
from dataclasses import dataclass, field

from fastapi import Request
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser

from app.core.errors import Invalid
from app.core.inputs import check_text, is_ascii_number
from app.portability.service import TooLarge

# Room for the multipart boundaries and headers around the file itself.
MULTIPART_ALLOWANCE = 64 * 1024
FILE_FIELD = "file"


@dataclass(frozen=True)
class Upload:
    """The uploaded file (None when none was sent) and the form's other text fields."""

    data: bytes | None
    file_name: str
    fields: Mapping[str, str] = field(default_factory=dict)


def too_large(limit: int) -> TooLarge:
    return TooLarge(
        f"the file is larger than the {limit // (1024 * 1024)} MB accepted; an assessment "
        "workbook is far smaller, so upload the one downloaded from this assessment"
    )


async def read_upload(
    request: Request,
    *,
    limit: int,
    default_name: str = "",
    fields: Collection[str] = (),
    raw_body: bool = True,
) -> Upload:
    """The file of a multipart form (field 'file') with the named text fields, or the body.

    TooLarge past limit; Invalid when the form cannot be read. A body that is not a
    multipart form is the file itself when raw_body, else no file at all (not read).
    """
    ceiling = limit + MULTIPART_ALLOWANCE
    declared = request.headers.get("content-length", "")
    if is_ascii_number(declared) and int(declared) > ceiling:
        raise too_large(limit)

    async def limited() -> AsyncIterator[bytes]:
        received = 0
        async for chunk in request.stream():
            received += len(chunk)
            if received > ceiling:
                raise too_large(limit)
            yield chunk

    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        if not raw_body:
            return Upload(None, "")
        data = b"".join([chunk async for chunk in limited()])
        if len(data) > limit:
            raise too_large(limit)
        name = request.query_params.get("filename", default_name)
        return Upload(data, check_text(name, field="filename"))
    parser = MultiPartParser(request.headers, limited(), max_files=1, max_fields=5)
    try:
        form = await parser.parse()
    except MultiPartException as error:
        raise Invalid(f"the upload could not be read: {error.message}", field="file") from None
    try:
        found = {name: value for name in fields if isinstance(value := form.get(name), str)}
        upload = form.get(FILE_FIELD)
        if not isinstance(upload, UploadFile):
            return Upload(None, "", found)
        data = await upload.read(limit + 1)
        if len(data) > limit:
            raise too_large(limit)
        return Upload(data, check_text(upload.filename or default_name, field="file"), found)
    finally:
        await form.close()
