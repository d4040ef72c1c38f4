"""Settings: defaults < TOML file < environment < flags, with clear errors."""
from __future__ import annotations

import pytest

from trackstore_server import config


def test_defaults():
    settings = config.load(environ={})
    assert settings.data_dir == "./trackstore-data"
    assert settings.port == 50051 and settings.host == "127.0.0.1"
    assert settings.max_pending_deletes == 1_000_000
    assert settings.compaction_interval_seconds == 86_400
    assert settings.preview_timeout_seconds == 120
    assert settings.memory_limit == "2GB"  # not DuckDB's 80% of the machine
    assert settings.catalog_attach_path.endswith("trackstore-data/catalog.ducklake")
    assert settings.resolved_data_path.endswith("trackstore-data/data/")


def test_precedence_file_env_flags(tmp_path):
    file = tmp_path / "trackstore.toml"
    file.write_text('port = 6000\nthreads = 3\nmemory_limit = "1GB"\ns3_use_ssl = false\n')
    settings = config.load(
        flags={"config": str(file), "threads": "4"},
        environ={"TRACKSTORE_PORT": "7000", "TRACKSTORE_MEMORY_LIMIT": "3GB"},
    )
    assert settings.port == 7000            # env beats file
    assert settings.threads == 4            # flag beats file
    assert settings.memory_limit == "3GB"   # env beats file
    assert settings.s3_use_ssl is False     # file beats default


def test_unknown_file_setting_is_an_error(tmp_path):
    file = tmp_path / "bad.toml"
    file.write_text("prot = 1\n")
    with pytest.raises(config.ConfigError, match="unknown settings.*prot"):
        config.load(flags={"config": str(file)}, environ={})


def test_invalid_value_names_the_setting():
    with pytest.raises(config.ConfigError, match="setting port: invalid value 'abc'"):
        config.load(environ={"TRACKSTORE_PORT": "abc"})


def test_scale_out_paths():
    settings = config.load(flags={"catalog": "postgres:dbname=lake", "data_path": "s3://b/p"},
                           environ={})
    assert settings.catalog_attach_path == "postgres:dbname=lake"
    assert settings.resolved_data_path == "s3://b/p/" and settings.uses_s3


def test_the_store_runs_with_the_memory_limit(lake):
    """DuckDB states 2GB (10^9 bytes each) in GiB."""
    assert lake.execute("SELECT current_setting('memory_limit')").fetchone()[0] == "1.8 GiB"
