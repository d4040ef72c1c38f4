"""The HTTP application: the Profile Store's routes, the OpenAPI document and its Swagger page,
and the events console with its static files (served by this server: the page works offline).
"""
from __future__ import annotations

import http
import pathlib

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from . import openapi, segments, trackevents
from .calls import Edge
from .error_body import json_response

STATIC = pathlib.Path(__file__).parent / "static"


def api_routes() -> list[Route]:
    """The Profile Store's routes, one module per resource: track events, and filter
    definitions and segments (issue 22); openapi.py documents each route, and
    tests/http/test_http_openapi.py fails while one is undocumented."""
    return [*trackevents.ROUTES, *segments.ROUTES]


async def _openapi_document(request: Request) -> Response:
    return json_response(openapi.document())


def _page(name: str):
    async def page(request: Request) -> Response:
        return FileResponse(STATIC / name, media_type="text/html")

    return page


async def _http_error(request: Request, error: HTTPException) -> Response:
    """A path or method no route serves, in the same error shape as every other error."""
    status = http.HTTPStatus(error.status_code)
    return json_response({"error": {"code": status.name, "message": status.phrase.lower()
                                    + f": {request.method} {request.url.path}"}},
                         error.status_code, error.headers)


def create_app(edge: Edge) -> Starlette:
    routes = [
        *api_routes(),
        Route("/openapi.json", _openapi_document, methods=["GET"]),
        Route("/", _page("console.html"), methods=["GET"], include_in_schema=False),
        Route("/swagger", _page("swagger.html"), methods=["GET"], include_in_schema=False),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
    app = Starlette(routes=routes, exception_handlers={HTTPException: _http_error})
    app.state.edge = edge
    return app
