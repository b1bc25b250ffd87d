"""Request bodies are refused before they cost memory: the size while the body streams in
(FastAPI's per-route `max_body_size`, which also covers chunked bodies without a Content-Length;
the shared middleware already refuses a declared Content-Length over the limit), and the JSON
nesting depth before the body is parsed."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

import orjson
from fastapi import Request, Response
from fastapi.routing import APIRoute

from ingestion.domain.limits import MAX_JSON_DEPTH, json_depth
from settle_shared.errors import Problem
from settle_shared.problems import ProblemError, documented_problem

GUARD_PROBLEMS: dict[int | str, dict[str, Any]] = {
    400: documented_problem(f"The JSON body nests deeper than {MAX_JSON_DEPTH} levels"),
    413: documented_problem("The body is larger than the limit"),
}


class _OrjsonRequest(Request):
    """Parses its JSON body with orjson, a fraction of the standard library's cost on batches.
    Its decode error is a `json.JSONDecodeError`, which FastAPI reports as a 422 as before."""

    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = orjson.loads(await self.body())
        return self._json


class GuardedRoute(APIRoute):
    """A route whose JSON body is checked for nesting before FastAPI parses it."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()

        async def guarded(plain: Request) -> Response:
            request = _OrjsonRequest(plain.scope, plain.receive)
            if request.method in ("POST", "PUT", "PATCH") and _is_json(request):
                # The body is read (within the size limit) and kept: FastAPI parses the same bytes.
                depth = json_depth(await request.body())
                if depth > MAX_JSON_DEPTH:
                    raise ProblemError(
                        400,
                        "json-too-deep",
                        "JSON nested too deeply",
                        f"the body nests {depth} levels deep; the limit is {MAX_JSON_DEPTH}",
                        [Problem("/body", "nesting deeper than any Settle record needs")],
                    )
            return await handle(request)

        return guarded


def _is_json(request: Request) -> bool:
    media_type = request.headers.get("content-type", "application/json").split(";")[0].strip()
    return media_type == "application/json" or media_type.endswith("+json")
