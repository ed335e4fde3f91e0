"""Workbooks and exchange files over the API: download, upload, preview, apply, move.

Uploads are read from the request stream with a size limit (app/portability/uploads.py), so
an oversized file is refused as soon as it passes the limit, before it is stored anywhere.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Body, Depends, Query, Request, status
from fastapi.responses import JSONResponse, Response
from pydantic import Field

from app.accounts.dependencies import CurrentUser
from app.core.db import SessionDep
from app.core.errors import Invalid
from app.core.inputs import Id, InputModel, Text
from app.portability import service
from app.portability.uploads import Upload, read_upload

router = APIRouter(prefix="/assessments", tags=["workbooks and exchange"])

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


async def _file(request: Request, limit: int, default_name: str) -> Upload:
    upload = await read_upload(request, limit=limit, default_name=default_name)
    if upload.data is None:
        raise Invalid("send the file in a form field named 'file'", field="file")
    return upload


async def workbook_upload(request: Request, user: CurrentUser) -> Upload:
    # Depends on the user so that nobody unauthenticated gets to send a body.
    return await _file(request, service.MAX_UPLOAD_BYTES, "workbook.xlsx")


async def json_upload(request: Request, user: CurrentUser) -> Upload:
    return await _file(request, service.MAX_JSON_UPLOAD_BYTES, "assessment.json")


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
