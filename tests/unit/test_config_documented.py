"""Every setting is where an operator looks for it: config/defaults.toml holds each one that has
a default (with the value the code uses), and README's Configuration table names each variable."""
from __future__ import annotations

import dataclasses
import tomllib

from governor.config import DEFAULTS_FILE, PROJECT_DIR, Settings

GROUPED = {"rate_limit_sessions_per_minute", "rate_limit_age_per_minute", "rate_limit_guardian_per_minute",
           "rate_limit_admin_per_minute", "rate_limit_audit_per_minute"}  # GOVERNOR_RATE_LIMIT_<SCOPE>_PER_MINUTE


def test_defaults_toml_holds_every_setting_that_has_a_default():
    defaults = tomllib.loads(DEFAULTS_FILE.read_text())
    for f in dataclasses.fields(Settings):
        if f.default is None:  # a secret or a path with no default: TOML has no null
            assert f.name not in defaults
            continue
        assert f.name in defaults, f"config/defaults.toml lacks {f.name}"
        assert defaults[f.name] == f.default, f.name


def test_the_readme_names_every_setting():
    readme = (PROJECT_DIR / "README.md").read_text()
    table = readme[readme.index("## Configuration"):readme.index("## The command")]
    assert "`GOVERNOR_RATE_LIMIT_<SCOPE>_PER_MINUTE`" in table
    missing = [f.name for f in dataclasses.fields(Settings)
               if f.name not in GROUPED and f"`GOVERNOR_{f.name.upper()}`" not in table]
    assert missing == []
