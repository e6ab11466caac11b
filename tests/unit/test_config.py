"""Where relative paths point, and the warning for a GOVERNOR_* variable that is not a setting."""
from __future__ import annotations

import logging

import pytest

from governor.config import PROJECT_DIR, ConfigError, load_settings, warn_unknown_variables


def test_relative_paths_are_taken_from_the_project_folder_by_default():
    s = load_settings({})
    assert s.database_url == f"sqlite:///{PROJECT_DIR / 'instance' / 'governor.db'}"
    assert s.instance_dir == str(PROJECT_DIR / "instance")
    assert s.policy == str(PROJECT_DIR / "config" / "policies" / "cn-minor-mode.toml")


def test_governor_home_moves_every_relative_path_and_leaves_absolute_ones(tmp_path):
    (tmp_path / "local.toml").write_text('policy = "mine.toml"\n')
    (tmp_path / "mine.toml").write_text("")
    s = load_settings({"GOVERNOR_HOME": str(tmp_path), "GOVERNOR_CONFIG": "local.toml",
                       "GOVERNOR_DATABASE_URL": "sqlite:///data/g.db", "GOVERNOR_INSTANCE_DIR": "/srv/gov"})
    assert s.database_url == f"sqlite:///{tmp_path / 'data' / 'g.db'}"
    assert (s.instance_dir, s.policy) == ("/srv/gov", str(tmp_path / "mine.toml"))
    pg = "postgresql+psycopg://gov:pw@db/governor"
    assert load_settings({"GOVERNOR_HOME": str(tmp_path), "GOVERNOR_DATABASE_URL": pg}).database_url == pg


def test_the_shipped_policies_are_found_from_any_home(tmp_path):
    s = load_settings({"GOVERNOR_HOME": str(tmp_path), "GOVERNOR_POLICY": "config/policies/cn-nppa-2021.toml"})
    assert s.policy == str(PROJECT_DIR / "config" / "policies" / "cn-nppa-2021.toml")


def test_unknown_variables_are_named_with_the_nearest_known_one(caplog):
    env = {"GOVERNOR_DATABSE_URL": "x", "GOVERNOR_JWT_SECRETS": "x", "GOVERNOR_ZZZ": "1", "GOVERNOR_HOME": "/",
           "GOVERNOR_TEST_PG_URL": "x", "GOVERNOR_WORKERS": "2", "OTHER": "x"}
    with caplog.at_level(logging.WARNING, logger="governor.config"):
        said = warn_unknown_variables(env)
    assert said == [
        "GOVERNOR_DATABSE_URL is not a Governor setting and is ignored; did you mean GOVERNOR_DATABASE_URL?",
        "GOVERNOR_JWT_SECRETS is not a Governor setting and is ignored; did you mean GOVERNOR_JWT_SECRET?",
        "GOVERNOR_ZZZ is not a Governor setting and is ignored; see README, Configuration, for the known ones"]
    assert [r.getMessage() for r in caplog.records] == said


@pytest.mark.parametrize("name, value, minimum", [("GOVERNOR_AUDIT_RETENTION_DAYS", "182", "183"),
                                                  ("GOVERNOR_USAGE_RETENTION_DAYS", "7", "8")])
def test_retention_has_a_floor(name, value, minimum):
    with pytest.raises(ConfigError, match=f"{name}: at least {minimum}"):
        load_settings({name: value})
    load_settings({name: minimum})
