"""Webhooks (DESIGN section 9, scope `admin`): endpoints that receive signed events, their
deliveries and attempts. docs/webhooks.md has the events' bodies and how to verify them."""
from __future__ import annotations

from governor.api import models as m
from governor.api.spec.op import CURSOR, LIMIT, Op
from governor.api.webhooks import (
    DELIVERY_ID,
    NAME,
    STATUSES,
    DeliveriesPage,
    DeliveryOut,
    EndpointIn,
    EndpointOut,
    EndpointsOut,
    RemovedOut,
)
from governor.service.webhooks.outbox import EVENT_TYPES

PATH_PARAMS = {"name": {"type": "string", "pattern": f"^{NAME.pattern}$"},
               "delivery_id": {"type": "string", "pattern": f"^{DELIVERY_ID.pattern}$"}}
PATH_TEXT = {"name": "the endpoint's name, chosen by the admin: 1-64 of A-Z a-z 0-9 . _ -",
             "delivery_id": "the delivery's `id` (its `webhook-id`)"}
COUNTS = {"pending": 0, "delivered": 41, "failed": 1}
ENDPOINT = {"name": "parent-app", "url": "https://parents.example.com/governor/webhooks",
            "events": ["time_request.created", "session.ended"], "enabled": True, "disabled_reason": None,
            "created_at": "2026-12-01T09:00:00+00:00", "updated_at": "2026-12-01T09:00:00+00:00",
            "previous_secret_expires_at": None, "deliveries": COUNTS}
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"  # noqa: S105  (an example in the document)
DELIVERY = {"id": "msg_2Lk9qPz0aB", "type": "time_request.created", "status": "delivered",
            "attempts": [{"at": "2026-12-02T08:50:01+00:00", "status_code": 503, "error": "HTTP 503"},
                         {"at": "2026-12-02T08:50:06+00:00", "status_code": 204, "error": None}],
            "next_attempt_at": None, "created_at": "2026-12-02T08:50:00+00:00"}
NO_ENDPOINT = "No endpoint of that name"

OPS = [
    Op("put", "/v1/admin/webhooks/{name}", "putWebhook", "webhooks", "Register or change a webhook endpoint",
       ("admin",), body=EndpointIn, responses={200: EndpointOut},
       description="Creates the endpoint, or changes its `url`, `events` and `enabled`. The answer that creates "
                   "it carries its `secret` (`whsec_...`), once: keep it to verify deliveries. The URL must be "
                   "`https` and resolve to public addresses only (hosts in GOVERNOR_WEBHOOK_ALLOW_HOSTS are "
                   "exempt and may use `http`). Event types: " + ", ".join(f"`{e}`" for e in EVENT_TYPES)
                   + ". Enabling an endpoint that a 410 disabled sends its waiting deliveries again. Audited.",
       errors={422: "A URL that is not https, has credentials, does not resolve, or resolves to a loopback, "
                    "private, link-local or metadata address; an unknown event type; a bad name"},
       example={"url": "https://parents.example.com/governor/webhooks",
                "events": ["time_request.created", "session.ended"]},
       answer={**ENDPOINT, "deliveries": {"pending": 0, "delivered": 0, "failed": 0}, "secret": SECRET}),
    Op("get", "/v1/admin/webhooks", "listWebhooks", "webhooks", "The webhook endpoints", ("admin",),
       responses={200: EndpointsOut},
       description="Every endpoint, by name, with its state and how many deliveries it has by status; "
                   "never a secret.",
       answer={"webhooks": [ENDPOINT]}),
    Op("get", "/v1/admin/webhooks/{name}", "getWebhook", "webhooks", "A webhook endpoint", ("admin",),
       responses={200: EndpointOut, 404: m.ProblemOut},
       description="The endpoint: its URL, events, state and deliveries by status; never its secret "
                   "(see rotate-secret).",
       errors={404: NO_ENDPOINT}, answer=ENDPOINT),
    Op("delete", "/v1/admin/webhooks/{name}", "deleteWebhook", "webhooks", "Remove a webhook endpoint",
       ("admin",), responses={200: RemovedOut, 404: m.ProblemOut},
       description="Removes the endpoint with its deliveries; those not yet delivered are not sent. Audited.",
       errors={404: NO_ENDPOINT}, answer={"name": "parent-app", "deleted": True}),
    Op("post", "/v1/admin/webhooks/{name}/rotate-secret", "rotateWebhookSecret", "webhooks",
       "A new secret for an endpoint", ("admin",), responses={200: EndpointOut, 404: m.ProblemOut},
       description="A new `secret`, returned once. For the next 24 hours every delivery carries two "
                   "signatures in `webhook-signature`, one with each secret, so the receiver can switch "
                   "whenever it likes. Audited. No body.",
       errors={404: NO_ENDPOINT},
       answer={**ENDPOINT, "previous_secret_expires_at": "2026-12-03T09:00:00+00:00", "secret": SECRET}),
    Op("get", "/v1/admin/webhooks/{name}/deliveries", "listWebhookDeliveries", "webhooks",
       "An endpoint's deliveries, newest first", ("admin",),
       query={"status": {"type": "string", "enum": list(STATUSES), "description": "only those of this status"},
              "cursor": CURSOR, "limit": LIMIT},
       responses={200: DeliveriesPage, 404: m.ProblemOut},
       description="Each delivery with every attempt (`status_code`, or the `error` when no answer came) and "
                   "when it is tried next. Delivered and failed ones are kept GOVERNOR_WEBHOOK_RETENTION_DAYS "
                   "(30).",
       errors={404: NO_ENDPOINT, 422: "An unknown status, a bad cursor or limit"},
       answer={"deliveries": [DELIVERY], "next_cursor": None}),
    Op("post", "/v1/admin/webhooks/{name}/deliveries/{delivery_id}/retry", "retryWebhookDelivery", "webhooks",
       "Send a failed delivery again", ("admin",), responses={200: DeliveryOut, 404: m.ProblemOut,
                                                               409: m.ProblemOut},
       description="A failed delivery is sent once more, within about a second; if that attempt fails too it "
                   "is failed again. Audited. No body.",
       errors={404: "No such endpoint or delivery", 409: "The delivery is not failed (`delivery-not-failed`), "
                                                          "or the endpoint is disabled (`endpoint-disabled`)"},
       answer={**DELIVERY, "status": "pending", "next_attempt_at": "2026-12-02T09:00:00+00:00",
               "attempts": [{"at": "2026-12-02T08:50:01+00:00", "status_code": 500, "error": "HTTP 500"}]}),
]
