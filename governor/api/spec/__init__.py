"""The API's operations as data, one module per area: each `Op` names its path, scopes, request
and answer models, and says in words what it does, what each error means, and what a request and
an answer look like. `governor.api.openapi` builds /openapi.json from them, `governor.api.apidoc`
renders /docs and docs/api.md.

To document a new endpoint: add an `Op` to the area's `OPS` (or a new module here, listed in
`governor.api.openapi.AREAS`), with a `description`, its `errors` and an `example`/`answer`;
then `python -m governor.api.apidoc > docs/api.md`. tests/api/test_api_docs.py fails until every
operation has a description and an example and docs/api.md is current."""
