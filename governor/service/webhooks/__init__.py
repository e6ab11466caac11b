"""Telling the parent app (DESIGN section 9): signed webhooks with an outbox.

- `outbox`: the one call each change point makes, in the transaction of the change;
- `endpoints`: the admin's use cases (register, change, rotate the secret, deliveries, retry);
- `targets`: which URLs and addresses may be sent to (https, no private ranges);
- `worker`: the scheduler's job that claims due deliveries, signs, sends and records them.
"""
