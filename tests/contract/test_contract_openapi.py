import ast
import inspect
import textwrap
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, RouteContext, iter_route_contexts
from openapi_spec_validator import validate

from settle_local import contracts
from settle_shared.auth import caller
from settle_shared.problems import PROBLEM_JSON
from settle_shared.runtime import ServiceDefinition, openapi_app

LoadService = Callable[[str], ServiceDefinition[Any]]
ReadJson = Callable[[str], Any]
HTTP_METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")

by_service = pytest.mark.parametrize("package", contracts.SERVICE_PACKAGES)


def operations(document: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for path, item in document["paths"].items():
        for method in HTTP_METHODS:
            if method in item:
                yield f"{method.upper()} {path}", item[method]


@by_service
def test_every_openapi_document_is_valid_openapi(
    package: str, load_service: LoadService, read_json_contract: ReadJson
) -> None:
    service = load_service(package)
    document = read_json_contract(contracts.openapi_path(service.name))

    validate(document)
    assert document["info"]["title"] == f"Settle {service.name}"


@by_service
def test_every_operation_has_a_summary(
    package: str, load_service: LoadService, read_json_contract: ReadJson
) -> None:
    document = read_json_contract(contracts.openapi_path(load_service(package).name))

    assert [name for name, operation in operations(document) if not operation.get("summary")] == []


@by_service
def test_every_error_path_documents_its_problem_response(
    package: str, load_service: LoadService, read_json_contract: ReadJson
) -> None:
    service = load_service(package)
    document = read_json_contract(contracts.openapi_path(service.name))
    routes = dict(documented_routes(openapi_app(service)))
    assert set(routes) == {name for name, _ in operations(document)}
    undocumented: list[str] = []
    for name, operation in operations(document):
        for status, reasons in error_paths(routes[name], operation).items():
            response = operation["responses"].get(str(status), {})
            if PROBLEM_JSON not in response.get("content", {}):
                undocumented.append(f"{name} {status}: {'; '.join(reasons)}")

    assert undocumented == [], (
        f"responses that are problem documents ({PROBLEM_JSON}) but not documented as such:\n  "
        + "\n  ".join(undocumented)
    )


def documented_routes(app: FastAPI) -> Iterator[tuple[str, RouteContext]]:
    for context in iter_route_contexts(app.routes):
        if isinstance(context.original_route, APIRoute) and context.include_in_schema:
            for method in context.methods or ():
                yield f"{method} {context.path_format}", context


def error_paths(route: RouteContext, operation: dict[str, Any]) -> dict[int, list[str]]:
    """The problem statuses a route can answer with, each with the reasons why."""
    reasons: dict[int, list[str]] = {}
    if depends_on(route.dependant, caller):
        reasons.setdefault(401, []).append("needs an API key (CallerTenant)")
    if operation.get("parameters") or operation.get("requestBody"):
        reasons.setdefault(422, []).append("takes input, so can fail validation")
    for status in sorted(raised_problem_statuses(route.endpoint)):
        reasons.setdefault(status, []).append(f"the route raises ProblemError({status}, ...)")
    return reasons


def depends_on(dependant: Dependant, call: Callable[..., Any]) -> bool:
    return any(d.call is call or depends_on(d, call) for d in dependant.dependencies)


def raised_problem_statuses(endpoint: Callable[..., Any] | None) -> set[int]:
    assert endpoint is not None
    tree = ast.parse(textwrap.dedent(inspect.getsource(endpoint)))
    return {
        node.args[0].value
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "ProblemError"
        and node.args
        and isinstance(node.args[0], ast.Constant)
        and isinstance(node.args[0].value, int)
    }
