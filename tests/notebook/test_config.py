"""Where %ami connect finds host, user and secret: line, profile, environment, defaults."""

from __future__ import annotations

import os

import pytest

from amilab.notebook.commands import CommandError, Connect
from amilab.notebook.config import Defaults, load_profiles, permission_warning, resolve

PROFILES = {
    "default": {"host": "pbx.example.com", "port": "5038", "user": "ops", "secret_env": "PBX"},
    "lab": {"host": "127.0.0.1", "port": "15038", "user": "admin", "secret": "file-secret"},
}


def _resolve(cmd=None, env=None, profiles=PROFILES, prompt=None, defaults=None):
    return resolve(
        cmd or Connect(),
        env=env or {},
        profiles=profiles,
        defaults=defaults or Defaults(),
        prompt=prompt,
        config_path="connections.ini",
    )


def test_line_beats_environment_and_file():
    """Values on the line win over AMI_* variables and the [default] section."""
    env = {"AMI_HOST": "env-host", "AMI_USER": "env-user", "AMI_SECRET": "s"}
    s = _resolve(Connect(host="line-host", port=1234, user="line-user"), env)
    assert (s.host, s.port, s.user, s.secret.reveal()) == ("line-host", 1234, "line-user", "s")


def test_environment_beats_default_section():
    """AMI_HOST/AMI_PORT/AMI_USER override [default]; its secret_env names the secret."""
    env = {"AMI_HOST": "env-host", "AMI_PORT": "7000", "PBX": "from-pbx-var"}
    s = _resolve(env=env)
    assert (s.host, s.port, s.user) == ("env-host", 7000, "ops")
    assert s.secret.reveal() == "from-pbx-var" and s.secret_source == "$PBX"


def test_named_profile_beats_environment():
    """An explicit @profile is used even when AMI_HOST is set; its secret comes from the file."""
    s = _resolve(Connect(profile="lab"), {"AMI_HOST": "env-host"})
    assert (s.host, s.port, s.user, s.secret.reveal()) == (
        "127.0.0.1",
        15038,
        "admin",
        "file-secret",
    )
    assert s.secret_source == "connections.ini [lab]"


def test_secret_env_option_wins_over_file_secret():
    """--secret-env VAR is read before a secret in the section, and must be set."""
    s = _resolve(Connect(profile="lab", secret_env="MINE"), {"MINE": "env-secret"})
    assert s.secret.reveal() == "env-secret"
    with pytest.raises(CommandError, match="MINE: the environment variable is not set"):
        _resolve(Connect(profile="lab", secret_env="MINE"))


def test_defaults_and_prompt():
    """With no file and no env, trait defaults apply and the secret is prompted for."""
    asked = []

    def prompt(text):
        asked.append(text)
        return "typed"

    s = _resolve(Connect(user="u"), profiles={}, prompt=prompt, defaults=Defaults(host="h"))
    assert (s.host, s.port, s.user, s.secret.reveal(), s.secret_source) == (
        "h",
        None,
        "u",
        "typed",
        "prompt",
    )
    assert asked == ["AMI secret for u@h: "]


def test_no_secret_without_prompt_says_how():
    """Without a prompt, a missing secret names the variable and the file to use."""
    with pytest.raises(CommandError, match=r"AMI_SECRET.*connections\.ini"):
        _resolve(Connect(user="u"), profiles={})


def test_missing_user_and_profile_errors():
    """No user anywhere, or an unknown @profile, is a clear error."""
    with pytest.raises(CommandError, match="no AMI user"):
        _resolve(Connect(host="h"), {"AMI_SECRET": "s"}, profiles={})
    with pytest.raises(CommandError, match=r"no \[nope\] section.*@default, @lab"):
        _resolve(Connect(profile="nope"))


def test_settings_repr_hides_secret():
    """Settings never show the secret in their repr."""
    s = _resolve(Connect(profile="lab"))
    assert "file-secret" not in repr(s)


def test_flags_from_file():
    """tls/auth/events come from the section; bad values are refused."""
    profiles = {"x": {"user": "u", "secret": "s", "tls": "yes", "auth": "MD5", "events": "off"}}
    s = _resolve(Connect(profile="x"), profiles=profiles)
    assert (s.tls, s.auth, s.events) == (True, "md5", "off")
    with pytest.raises(CommandError, match="not yes/no"):
        _resolve(Connect(profile="x"), profiles={"x": {"user": "u", "secret": "s", "tls": "y?"}})
    with pytest.raises(CommandError, match="not md5, plain or auto"):
        _resolve(Connect(profile="x"), profiles={"x": {"user": "u", "secret": "s", "auth": "k"}})


def test_cafile_implies_tls():
    """A cafile (line or section) turns TLS on and is expanded from ~."""
    profiles = {"x": {"user": "u", "secret": "s", "cafile": "~/ca.pem"}}
    s = _resolve(Connect(profile="x"), profiles=profiles)
    assert s.tls is True and s.cafile == os.path.expanduser("~/ca.pem")


def test_load_profiles_and_permissions(tmp_path):
    """The INI file loads by section; group/world-readable files get a chmod warning."""
    path = tmp_path / "connections.ini"
    assert load_profiles(path) == {}
    path.write_text("[lab]\nhost = 127.0.0.1 ; the sandbox\nport = 15038\nuser = admin\n")
    path.chmod(0o600)
    assert load_profiles(path) == {"lab": {"host": "127.0.0.1", "port": "15038", "user": "admin"}}
    assert permission_warning(path) is None
    path.chmod(0o644)
    if os.name == "posix":
        assert "chmod 600" in permission_warning(path)


def test_unknown_key_in_file(tmp_path):
    """A misspelt key in the file is an error listing the known keys."""
    path = tmp_path / "c.ini"
    path.write_text("[lab]\nhots = x\n")
    with pytest.raises(CommandError, match=r"unknown key.*hots"):
        load_profiles(path)


def test_secret_is_wrapped_and_file_sections_hide_it():
    """The resolved secret is a Secret, and a config section's repr never shows its value."""
    from amilab.notebook.config import Environment, Section
    from amilab.protocol.login import Secret

    s = _resolve(Connect(profile="lab"))
    assert isinstance(s.secret, Secret) and "file-secret" not in repr(s.secret)
    section = Section({"user": "admin", "secret": "file-secret"})
    assert "file-secret" not in repr(section) and section["secret"] == "file-secret"
    env = Environment({"AMI_SECRET": "env-secret-value"})
    assert "env-secret-value" not in repr(env) and env["AMI_SECRET"] == "env-secret-value"
