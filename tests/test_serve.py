"""Serving the chat safely: this computer only unless a password is set or --open is given."""

from __future__ import annotations

import socket

import pytest
from click.testing import CliRunner

from rag.cli import main
from rag.config import Settings
from rag.errors import ConfigError
from rag.web.server import check_exposure, check_port


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "localhost", "::1"])
def test_this_computer_needs_no_password(host):
    check_exposure(host, None, open_=False)


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.20", "example.org"])
def test_other_addresses_need_a_password_or_open(host):
    with pytest.raises(ConfigError, match="without a password"):
        check_exposure(host, None, open_=False)
    check_exposure(host, ("user", "pw"), open_=False)
    check_exposure(host, None, open_=True)


def test_serve_refuses_a_public_address_before_loading_anything(tmp_path, monkeypatch):
    monkeypatch.delenv("RAG_AUTH", raising=False)
    result = CliRunner().invoke(main, ["serve", "--host", "0.0.0.0", "--corpus", str(tmp_path)])
    assert result.exit_code == 1
    assert "refusing to serve on 0.0.0.0 without a password" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "index").exists()


@pytest.mark.parametrize("auth", ["user", "user:", ":pw"])
def test_a_password_must_be_user_colon_password(auth):
    with pytest.raises(ConfigError, match="user:password"):
        Settings.load({"RAG_AUTH": auth})


def test_credentials_from_the_environment():
    assert Settings.load({"RAG_AUTH": "reader:pa:ss"}).credentials == ("reader", "pa:ss")
    assert Settings.load({}).credentials is None
    assert "pa:ss" not in repr(Settings.load({"RAG_AUTH": "reader:pa:ss"}))


def test_a_taken_port_is_reported_before_the_index_is_loaded():
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        with pytest.raises(ConfigError, match=f"port {port} is taken"):
            check_port("127.0.0.1", port)
