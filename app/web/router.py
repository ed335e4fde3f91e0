"""Server-rendered pages."""

from fastapi import APIRouter, FastAPI

router = APIRouter(include_in_schema=False)


def install(app: FastAPI) -> None:
    """Mount static assets and the page error renderer."""
