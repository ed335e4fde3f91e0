"""Workbooks and exchange files over the API: download, upload, preview, apply, move.

Uploads are read from the request stream with a size limit, so an oversized file is
refused as soon as it passes the limit, before it is stored anywhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Body, Depends, Query, Request, status
from fastapi.responses import JSONResponse, Response
from pydantic import Field
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser

from app.accounts.dependencies import CurrentUser
from app.core.db import SessionDep
from app.core.errors import Invalid
from app.core.inputs import Id, InputModel, Text, check_text, is_ascii_number
from app.portability import service

router = APIRouter(prefix="/assessments", tags=["workbooks and exchange"])

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# Room for the multipart boundaries and headers around the file itself.
MULTIPART_ALLOWANCE = 64 * 1024


@dataclass(frozen=True)
class Upload:
    data: bytes
    file_name: str


def _too_large(limit: int) -> service.TooLarge:
    return service.TooLarge(
        f"the file is larger than the {limit // (1024 * 1024)} MB accepted; an assessment "
        "workbook is far smaller, so upload the one downloaded from this assessment"
    )


async def _read_upload(request: Request, limit: int, default_name: str) -> Upload:
    """The uploaded file: a multipart 'file' field, or the raw request body."""
    ceiling = limit + MULTIPART_ALLOWANCE
    declared = request.headers.get("content-length", "")
    if is_ascii_number(declared) and int(declared) > ceiling:
        raise _too_large(limit)

    async def limited():
        received = 0
        async for chunk in request.stream():
            received += len(chunk)
            if received > ceiling:
                raise _too_large(limit)
            yield chunk

    content_type = request.headers.get("content-type", "")
    if not content_type.startswith("multipart/form-data"):
        data = b"".join([chunk async for chunk in limited()])
        if len(data) > limit:
            raise _too_large(limit)
        name = request.query_params.get("filename", default_name)
        return Upload(data, check_text(name, field="filename"))
    try:
        form = await MultiPartParser(request.headers, limited(), max_files=1, max_fields=5).parse()
    except MultiPartException as error:
        raise Invalid(f"the upload could not be read: {error.message}", field="file") from None
    try:
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise Invalid("send the file in a form field named 'file'", field="file")
        data = await upload.read(limit + 1)
        if len(data) > limit:
            raise _too_large(limit)
        return Upload(data, check_text(upload.filename or default_name, field="file"))
    finally:
        await form.close()


async def workbook_upload(request: Request, user: CurrentUser) -> Upload:
    # Depends on the user so that nobody unauthenticated gets to send a body.
    return await _read_upload(request, service.MAX_UPLOAD_BYTES, "workbook.xlsx")


async def json_upload(request: Request, user: CurrentUser) -> Upload:
    return await _read_upload(request, service.MAX_JSON_UPLOAD_BYTES, "assessment.json")


def _download(content: bytes, media_type: str, file_name: str) -> Response:
    return Response(
        content,
        media_type=media_type,
        headers={
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(file_name)}",
            "Cache-Control": "no-store",
        },
    )


def _file_body(media_type: str, schema: dict[str, Any]) -> dict[str, Any]:
    """The request body as OpenAPI should show it: the body is read by hand, with a limit."""
    form = {"type": "object", "properties": {"file": {"type": "string", "format": "binary"}}}
    return {
        "requestBody": {
            "required": True,
            "content": {"multipart/form-data": {"schema": form}, media_type: {"schema": schema}},
        }
    }


class ApplyInput(InputModel):
    take_workbook_for: Annotated[list[str], Field(max_length=1000)] = Field(default_factory=list)


@router.get(
    "/{assessment_id}/workbook.xlsx",
    response_class=Response,
    responses={200: {"content": {XLSX_TYPE: {}}, "description": "The assessment workbook"}},
)
def download_workbook(
    assessment_id: Id,
    user: CurrentUser,
    session: SessionDep,
    locale: Annotated[Text | None, Query(max_length=10)] = None,
) -> Response:
    """The assessment as an Excel workbook to fill in offline (docs/exchange-format.md)."""
    file_name, content = service.export_workbook(
        session, user=user, assessment_id=assessment_id, locale=locale
    )
    return _download(content, XLSX_TYPE, file_name)


@router.post(
    "/{assessment_id}/workbook",
    status_code=status.HTTP_201_CREATED,
    openapi_extra=_file_body(XLSX_TYPE, {"type": "string", "format": "binary"}),
)
def upload_workbook(
    assessment_id: Id,
    user: CurrentUser,
    session: SessionDep,
    upload: Annotated[Upload, Depends(workbook_upload)],
) -> dict[str, Any]:
    """Read a filled workbook; answers every change, conflict and problem, saves nothing."""
    pending = service.preview_workbook(
        session,
        user=user,
        assessment_id=assessment_id,
        data=upload.data,
        file_name=upload.file_name,
    )
    return service.preview_out(pending)


@router.get("/{assessment_id}/imports/{import_id}")
def get_import(
    assessment_id: Id, import_id: Id, user: CurrentUser, session: SessionDep
) -> dict[str, Any]:
    pending = service.get_import(
        session, user=user, assessment_id=assessment_id, import_id=import_id
    )
    return service.preview_out(pending)


@router.post("/{assessment_id}/imports/{import_id}/apply")
def apply_import(
    assessment_id: Id,
    import_id: Id,
    user: CurrentUser,
    session: SessionDep,
    data: Annotated[ApplyInput | None, Body()] = None,
) -> dict[str, Any]:
    """Save the upload's changes in one go; conflicts only where named in take_workbook_for."""
    pending = service.apply_import(
        session,
        user=user,
        assessment_id=assessment_id,
        import_id=import_id,
        take_workbook_for=(data or ApplyInput()).take_workbook_for,
    )
    return service.preview_out(pending)


@router.post("/{assessment_id}/imports/{import_id}/cancel")
def cancel_import(
    assessment_id: Id, import_id: Id, user: CurrentUser, session: SessionDep
) -> dict[str, Any]:
    pending = service.cancel_import(
        session, user=user, assessment_id=assessment_id, import_id=import_id
    )
    return service.preview_out(pending)


@router.get("/{assessment_id}/export.json")
def export_json(assessment_id: Id, user: CurrentUser, session: SessionDep) -> JSONResponse:
    """The whole assessment in the exchange format, to move it to another installation."""
    file_name, document = service.export_json(session, user=user, assessment_id=assessment_id)
    return JSONResponse(
        document,
        headers={
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(file_name)}",
            "Cache-Control": "no-store",
        },
    )


@router.post(
    "/import",
    status_code=status.HTTP_201_CREATED,
    openapi_extra=_file_body("application/json", {"type": "object"}),
)
def import_json(
    user: CurrentUser,
    session: SessionDep,
    upload: Annotated[Upload, Depends(json_upload)],
) -> dict[str, Any]:
    """Create an assessment from an exchange file (JSON body, or a form field 'file')."""
    assessment = service.import_json(
        session, user=user, raw=upload.data, file_name=upload.file_name
    )
    return {
        "id": assessment.id,
        "country_code": assessment.country.code,
        "cycle": assessment.cycle,
        "status": assessment.status,
        "catalogue_version": assessment.catalogue_version.version,
        "catalogue_hash": assessment.catalogue_version.content_hash,
    }
