"""The OpenAPI document for people: rendered on the server into one HTML page (GET /docs: no
script, nothing fetched from elsewhere, so it works without internet) and into Markdown
(docs/api.md, which `python -m governor.api.apidoc > docs/api.md` rewrites). Both show every
operation with its scopes, parameters, body, answers, errors and examples, and every schema."""
from __future__ import annotations

import base64
import hashlib
import html as html_
import json
import re
import sys
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

REF = "#/components/schemas/"
METHODS = ("get", "put", "post", "patch", "delete")
_CODE = re.compile(r"`([^`]+)`")


def operations(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """Every operation, grouped by tag in the document's tag order, with what a reader needs."""
    order = [t["name"] for t in doc.get("tags", [])]
    ops = []
    for path, item in doc["paths"].items():
        for method in METHODS:
            if method in item:
                op = item[method]
                ops.append({"method": method.upper(), "path": path, "anchor": op["operationId"], "op": op,
                            "scopes": [s for sec in op.get("security", []) for s in sec["bearer"]],
                            "params": op.get("parameters", []), "body": _body(op),
                            "answers": [_answer(status, a) for status, a in op["responses"].items()]})
    return sorted(ops, key=lambda o: (order.index(o["op"]["tags"][0]) if o["op"]["tags"][0] in order else 99))


def _body(op: dict[str, Any]) -> dict[str, Any] | None:
    if "requestBody" not in op:
        return None
    media = op["requestBody"]["content"]["application/json"]
    return {"required": op["requestBody"]["required"], "type": type_of(media["schema"]),
            "example": _pretty(media.get("example"))}


def _answer(status: str, answer: dict[str, Any]) -> dict[str, Any]:
    content = answer.get("content", {})
    kinds = [f"{kind}: {type_of(c['schema'])}" for kind, c in content.items()]
    example = next((c["example"] for c in content.values() if "example" in c), None)
    return {"status": status, "description": answer["description"], "kinds": kinds, "example": _pretty(example)}


def _pretty(example: Any) -> str | None:
    if example is None:
        return None
    return example if isinstance(example, str) else json.dumps(example, indent=2, ensure_ascii=False)


def type_of(s: dict[str, Any]) -> str:
    """A schema in a few words: `DecisionOut`, `list of string (pattern ...)`, `integer 1..1440`."""
    if "$ref" in s:
        return s["$ref"].removeprefix(REF)
    if "anyOf" in s:
        return " | ".join(type_of(x) for x in s["anyOf"])
    if "enum" in s:
        return " | ".join(json.dumps(v) for v in s["enum"])
    if "const" in s:
        return json.dumps(s["const"])
    kind = s.get("type", "any")
    if kind == "array":
        return f"list of {type_of(s.get('items', {}))}" + _bounds(s, "minItems", "maxItems", " items")
    if kind == "object":
        if isinstance(s.get("additionalProperties"), dict):
            keys = type_of(s["propertyNames"]) if "propertyNames" in s else "string"
            return f"map of {keys} to {type_of(s['additionalProperties'])}"
        return "empty object" if s.get("maxProperties") == 0 else "object"
    out = kind + (f" ({s['format']})" if "format" in s else "")
    out += _bounds(s, "minimum", "maximum") + _bounds(s, "minLength", "maxLength", " characters")
    return out + (f", pattern `{s['pattern']}`" if "pattern" in s else "")


def _bounds(s: dict[str, Any], low: str, high: str, unit: str = "") -> str:
    if low in s or high in s:
        return f" {s.get(low, '')}..{s.get(high, '')}{unit}"
    return ""


def schemas(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """Every component schema as a table of fields."""
    out = []
    for name, s in sorted(doc["components"]["schemas"].items()):
        required = set(s.get("required", []))
        fields = [{"name": f, "type": type_of(p), "required": f in required, "description": p.get("description", "")}
                  for f, p in s.get("properties", {}).items()]
        out.append({"name": name, "description": s.get("description", ""), "fields": fields,
                    "extra": s.get("additionalProperties") is not False})
    return out


def _env() -> Environment:
    env = Environment(loader=FileSystemLoader(Path(__file__).parent / "templates"),
                      autoescape=select_autoescape(["html"]), trim_blocks=True, lstrip_blocks=True,
                      keep_trailing_newline=True)
    env.filters["code"] = _code
    env.filters["cell"] = lambda text: str(text or "").replace("|", "\\|").replace("\n", " ")
    env.filters["linked"] = _linked
    env.filters["type_of"] = type_of
    return env


def _code(text: str | None) -> Markup:
    """Text with its `code` spans as <code>; everything else escaped."""
    return Markup(_CODE.sub(r"<code>\1</code>", str(html_.escape(text or ""))))  # noqa: S704 (escaped first)


def _linked(text: str, names: set[str], markdown: bool = False) -> str:
    """A type with each schema name in it a link to the schema (the rest escaped, patterns as code)."""
    out = []
    for part in re.split(r"(`[^`]*`|\b[A-Z][A-Za-z0-9]*\b)", text):
        if part in names:
            out.append(f"[{part}](#{part.lower()}-schema)" if markdown else f'<a href="#schema-{part}">{part}</a>')
        elif part.startswith("`") and not markdown:
            out.append(f"<code>{html_.escape(part[1:-1])}</code>")
        else:
            out.append(part if markdown else str(html_.escape(part)))
    return "".join(out) if markdown else Markup("".join(out))  # noqa: S704 (each part escaped or ours)


def context(doc: dict[str, Any]) -> dict[str, Any]:
    return {"doc": doc, "ops": operations(doc), "schemas": schemas(doc), "info": doc["info"],
            "tags": {t["name"]: t.get("description", t["name"]) for t in doc.get("tags", [])},
            "names": set(doc["components"]["schemas"])}


def page(doc: dict[str, Any]) -> tuple[str, str]:
    """The HTML page and the Content-Security-Policy that lets its one inline stylesheet, and
    nothing else, apply."""
    css = (Path(__file__).parent / "templates" / "apidoc.css").read_text()
    digest = base64.b64encode(hashlib.sha256(css.encode()).digest()).decode()
    text = _env().get_template("apidoc.html").render(css=Markup(css), **context(doc))  # noqa: S704 (our file)
    return text, f"default-src 'none'; style-src 'sha256-{digest}'; base-uri 'none'; frame-ancestors 'none'"


def markdown(doc: dict[str, Any]) -> str:
    return _env().get_template("apidoc.md").render(**context(doc))


def main() -> None:
    from governor.api.openapi import document

    sys.stdout.write(markdown(document()))


if __name__ == "__main__":
    main()
