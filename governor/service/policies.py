"""Policy versions: the configured file is activated when it changes; every activation is a new
version, audited on the system chain."""
from __future__ import annotations

from datetime import datetime
from pathlib import Path

from sqlalchemy.orm import Session

from governor.domain.policy import Policy, load_policy_file
from governor.service.audit import Entry, append_system_event, lock_system_chain
from governor.service.context import Services
from governor.store import repo


def activate(s: Session, policy: Policy, source: str, by: str, now: datetime) -> int:
    lock_system_chain(s)
    version = repo.add_policy_version(s, policy, source, by, now)
    append_system_event(s, now, Entry(client=by, action="policy.activated", policy_name=policy.name,
                                      policy_version=version, data={"source": source,
                                                                    "digest": repo.policy_digest(policy)}))
    return version


def sync_file(svc: Services, path: Path) -> int:
    """Activate the policy file if it differs from the last version taken from a file; versions
    activated through the API stay active across restarts until the file itself changes."""
    policy = load_policy_file(path)
    digest = repo.policy_digest(policy)
    with svc.db.write() as s:
        lock_system_chain(s)
        last_file = repo.last_policy_from_file(s)
        if last_file is not None and last_file.digest == digest:
            return repo.active_policy_version(s)
        return activate(s, policy, f"file:{path.name}", "governor-config", svc.clock.now())
