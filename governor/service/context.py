"""What every use case needs: the database, the clock, the settings and the active policy."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy.orm import Session

from governor.clock import Clock
from governor.config import Settings
from governor.domain.policy import Policy
from governor.store import repo
from governor.store.database import Database


@dataclass
class Services:
    db: Database
    clock: Clock
    settings: Settings
    _policies: dict[int, Policy] = field(default_factory=dict)
    # service/sessions.status: what it gathered of a user, by user id, with the row it went with
    statuses: dict = field(default_factory=dict)
    policy_seen: int | None = None  # the active policy's version, as a hot read last saw it

    @property
    def grace(self) -> timedelta:
        return timedelta(seconds=self.settings.heartbeat_grace_seconds)

    def policy(self, s: Session) -> Policy:
        """The active policy: one indexed look-up of its version per transaction; each version
        is parsed once per process, so an activation on any instance applies at once."""
        version = repo.active_policy_version(s)
        if version is None:
            raise RuntimeError("no policy is active: run `governor db upgrade`")
        if version not in self._policies:
            self._policies[version] = repo.load_policy(s, version)
        return self._policies[version]

    def policy_at(self, version: int | None) -> Policy:
        """The policy of this version (the hot paths read the active version with the user's
        row); parsed once per process, from its own short read the first time."""
        policy = self._policies.get(version)
        if policy is None:
            if version is None:
                raise RuntimeError("no policy is active: run `governor db upgrade`")
            with self.db.read() as s:
                self._policies[version] = policy = repo.load_policy(s, version)
        return policy
