"""The console's webhooks page (DESIGN section 9): the endpoints and their recent deliveries,
each with its attempts. Changes are made through the API (a secret is shown once, which a page
that can be reloaded should not do)."""
from __future__ import annotations

from flask import render_template

from governor.console import _svc, bp, signed_in
from governor.service.webhooks import endpoints

RECENT = 20


@bp.get("/webhooks")
@signed_in
def webhooks():
    svc = _svc()
    items = [(ep, endpoints.deliveries(svc, ep.name, None, 0, RECENT)[0]) for ep in endpoints.listing(svc)]
    return render_template("console/webhooks.html", items=items)
