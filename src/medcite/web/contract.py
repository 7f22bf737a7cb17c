"""The API's OpenAPI contract: the error body, the error statuses each route documents, the bearer scheme, and
the parts of the schema that come from settings (docs/api.md).

Every 4xx a route can answer is listed on it, with the one error body (:class:`ErrorOut`); schemathesis with every
check runs against the result (``tests/adversarial/test_adv_contract.py``, ``benchmarks/run_schemathesis.py``).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

#: what every visible character of a question is not: whitespace, control and invisible characters (which
#: ``medcite.text.clean_text`` drops), nor the start of markup
_VISIBLE = r"[^\s<&\x00-\x1f\x7f\u00ad\u200b-\u200d\u2060\ufeff]"
_PLAIN = r"(?:[^<&]|&\s)*?"
#: a question the service always accepts: four visible characters before any markup (text before the first ``<``
#: or ``&`` survives markup removal as it is, so a question matching this is never "empty or too short")
QUESTION_PATTERN = "^" + _PLAIN + _PLAIN.join([_VISIBLE] * 4)


class ErrorOut(BaseModel):
    """The one error shape of the web app."""

    ok: Literal[False] = Field(description="Always false.")
    error: str = Field(description="What went wrong and how to fix it.")
    status: int = Field(description="The HTTP status, repeated.")


_WHY = {
    400: "Bad request: malformed JSON or Content-Length, an empty or too short question, an invalid field.",
    401: "Not signed in: no valid API token (or session) for something that needs an account; an invalid or "
         "revoked token on any route that reads it.",
    403: "Not allowed: the caller's role may not do this; a cross-site Origin; a missing CSRF token on a "
         "browser session.",
    404: "Not found.",
    408: "The request body did not arrive within `web_body_timeout` seconds (the connection is closed).",
    409: "Conflict: the article changed since `expected_version`, or its state does not allow this.",
    413: "The request body is larger than `web_max_body_bytes`.",
    415: "The request body is not `application/json`.",
    422: "Invalid request: a field is missing or has the wrong type or size; JSON nested too deep or holding too "
         "many structures; a submitted answer that is not an Answer; an edit whose text cites a reference its "
         "answer does not have, or cites none while the answer has references (rules across an Answer's fields "
         "that no JSON Schema states).",
    429: "Too many questions (or failed sign-ins) from this address: wait `Retry-After` seconds.",
}
#: statuses every route with a JSON body can answer before the route runs (SecurityMiddleware, the server)
BODY = (400, 403, 408, 413, 415, 422)
#: routes that read the caller's credentials answer 401 to an invalid token
TOKEN = (401,)
BEARER = "bearerToken"


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for a route: each status with its description and the error body."""
    out: dict[int | str, dict[str, Any]] = {}
    for code in sorted(set(codes)):
        entry: dict[str, Any] = {"model": ErrorOut, "description": _WHY[code]}
        if code == 429:
            entry["headers"] = {"Retry-After": {"description": "Seconds to wait.", "schema": {"type": "integer"}}}
        out[code] = entry
    return out


def security(required: bool) -> dict[str, Any]:
    """``openapi_extra=`` naming the bearer token: required, or optional (anonymous callers allowed)."""
    return {"security": [{BEARER: []}] if required else [{}, {BEARER: []}]}


def finish(schema: dict[str, Any], max_question_chars: int) -> dict[str, Any]:
    """The parts of the generated schema that come from settings or from no route: the question's maximum length
    (the server's ``max_question_chars``) and the bearer scheme."""
    for operations in schema.get("paths", {}).values():
        for op in operations.values():
            content = op.get("responses", {}).get("200", {}).get("content", {})
            if "application/x-ndjson" in content:  # a stream: not also the route class's JSON
                content.pop("application/json", None)
    comps = schema.setdefault("components", {})
    answer_refs(comps.setdefault("schemas", {}))
    for name in ("AskIn", "FollowUpIn"):
        prop = comps.get("schemas", {}).get(name, {}).get("properties", {}).get("question")
        if prop is not None:
            prop["maxLength"] = max_question_chars
    comps.setdefault("securitySchemes", {})[BEARER] = {
        "type": "http", "scheme": "bearer", "bearerFormat": "mct_…",
        "description": "An API token from `medcite user token NAME`, sent as `Authorization: Bearer mct_…`.",
    }
    return schema


#: request bodies whose ``answer`` is an Answer: (component, whether ``null`` is allowed too)
ANSWER_FIELDS = {"SubmitAnswerIn": False, "EditIn": True}


def answer_refs(schemas: dict[str, Any]) -> None:
    """The Answer model's JSON Schema (with its parts) as components, and every request's ``answer`` pointing at
    it. The request models keep ``answer`` a plain dict that the route checks with ``valid_answer`` (422 naming
    the problems), and the Answer schema is generated only when the OpenAPI document is first asked for (FastAPI
    then caches it), not when the app starts."""
    from medcite.answer.schema import Answer

    answer = Answer.model_json_schema(ref_template="#/components/schemas/{model}")
    for name, part in {**answer.pop("$defs", {}), "Answer": answer}.items():
        if schemas.setdefault(name, part) != part:
            raise RuntimeError(f"two OpenAPI components are named {name!r}")  # a new model's name: rename it
    ref = {"$ref": "#/components/schemas/Answer"}
    for name, nullable in ANSWER_FIELDS.items():
        prop = schemas.get(name, {}).get("properties", {}).get("answer")
        if prop is not None:
            keep = {k: prop[k] for k in ("description", "title") if k in prop}
            prop.clear()
            prop.update(keep, **({"anyOf": [ref, {"type": "null"}]} if nullable else ref))


def install(app: Any, max_question_chars: int) -> None:
    """Make ``app.openapi()`` (served at ``/api/v1/openapi.json``) return the finished schema."""
    generated = app.openapi

    def openapi() -> dict[str, Any]:
        return finish(generated(), max_question_chars)  # generated() is cached by FastAPI; finish is idempotent

    app.openapi = openapi



def allowed_methods(request: Any, fallback: str = "") -> str:
    """The ``Allow`` header of a 405 on an API path: every method the schema documents for the path (the router
    would name only those of the first route whose path matched)."""
    import re

    path = request.url.path
    for template, operations in request.app.openapi().get("paths", {}).items():
        pattern = re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template))
        if template.startswith("/api/v1/documents/"):
            pattern = pattern.replace("[^/]+", ".+")
        if re.fullmatch(pattern, path):
            return ", ".join(sorted(m.upper() for m in operations))
    return fallback
