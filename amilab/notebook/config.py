"""Where ``%ami connect`` finds its settings, so a secret never has to be typed into a cell.

Each setting is taken from the first place that has it:

1. the ``%ami connect`` line (``HOST:PORT``, ``--user``, ``--tls``, ...);
2. the config file section named on the line (``%ami connect @lab``);
3. the environment: ``AMI_HOST``, ``AMI_PORT``, ``AMI_USER``;
4. the config file's ``[default]`` section;
5. the ``AmiMagics`` traits (``default_host``, ``default_port``, ``default_user``).

The secret follows the same order: ``--secret`` (discouraged: it stays in
the notebook's history) or the variable named by ``--secret-env``; the named
section's ``secret_env`` variable or ``secret``; the variable named by
``AmiMagics.secret_env`` (``AMI_SECRET``); the ``[default]`` section; and
last an interactive prompt. The config file (``AmiMagics.config_file``, by default
``~/.config/amilab/connections.ini``) is INI::

    [default]
    host = pbx.example.com
    port = 5038
    user = admin
    secret_env = PBX_SECRET     ; or: secret = ...  (then chmod 600 the file)

    [lab]
    host = 127.0.0.1
    port = 15038
    user = admin
    secret = amilab-admin
    tls = no                    ; yes/no
    cafile = ~/lab-ca.pem       ; CA to verify a TLS server (implies tls = yes)
    auth = md5                  ; md5, plain or auto
    events = on                 ; the login event mask

A file that group or others can read gets a warning, as ssh does for keys.
"""

from __future__ import annotations

import configparser
import os
import stat
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from amilab.notebook.commands import CommandError, Connect
from amilab.protocol.login import Secret

__all__ = [
    "DEFAULT_CONFIG_FILE",
    "ENV_HOST",
    "ENV_PORT",
    "ENV_USER",
    "Defaults",
    "Environment",
    "Section",
    "Settings",
    "load_profiles",
    "permission_warning",
    "resolve",
]

DEFAULT_CONFIG_FILE = "~/.config/amilab/connections.ini"
ENV_HOST, ENV_PORT, ENV_USER = "AMI_HOST", "AMI_PORT", "AMI_USER"
DEFAULT_SECTION = "default"
_KEYS = frozenset(
    {"host", "port", "user", "secret", "secret_env", "tls", "cafile", "auth", "events"}
)
_TRUE = frozenset({"1", "yes", "true", "on"})
_FALSE = frozenset({"0", "no", "false", "off"})
_AUTH = frozenset({"md5", "plain", "auto"})
#: Permission bits that let someone other than the owner read the file.
_SHARED_BITS = stat.S_IRWXG | stat.S_IRWXO


@dataclass(frozen=True)
class Defaults:
    """The last resort for each setting: the ``AmiMagics`` traits."""

    host: str = "127.0.0.1"
    port: int | None = None
    user: str = ""
    secret_env: str = "AMI_SECRET"


@dataclass(frozen=True)
class Settings:
    """Everything needed to log in; ``secret_source`` says where the secret came from."""

    host: str
    port: int | None
    user: str
    secret: Secret = field(repr=False)
    tls: bool = False
    auth: str = "auto"
    events: str | None = None
    secret_source: str = ""
    cafile: str | None = None


class Environment(Mapping[str, str]):
    """``os.environ`` behind a repr that shows no value.

    ``resolve`` takes the environment as an argument; a traceback printed with
    locals (``%xmode Verbose``) would otherwise list every variable, the
    secret's among them.
    """

    def __init__(self, data: Mapping[str, str] | None = None) -> None:
        self._data = os.environ if data is None else data

    def __getitem__(self, key: str) -> str:
        return self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __repr__(self) -> str:
        return f"<environment: {len(self._data)} variables, values hidden>"


class Section(dict[str, str]):
    """One config-file section; its repr hides the ``secret`` value."""

    def __repr__(self) -> str:
        shown = {k: ("***" if k == "secret" else v) for k, v in self.items()}
        return f"Section({shown!r})"


def load_profiles(path: str | os.PathLike[str]) -> dict[str, Section]:
    """The sections of the config file (``{}`` when it does not exist)."""
    file = Path(path).expanduser()
    if not file.exists():
        return {}
    parser = configparser.ConfigParser(
        interpolation=None, default_section="\0none", inline_comment_prefixes=(";", "#")
    )
    try:
        parser.read(file, encoding="utf-8")
    except configparser.Error as exc:
        raise CommandError(f"cannot read {file}: {exc.__class__.__name__}") from None
    profiles = {}
    for name in parser.sections():
        section = Section(parser[name])
        unknown = set(section) - _KEYS
        if unknown:
            raise CommandError(
                f"{file} [{name}]: unknown key(s) {', '.join(sorted(unknown))}; "
                f"known: {', '.join(sorted(_KEYS))}"
            )
        profiles[name] = section
    return profiles


def permission_warning(path: str | os.PathLike[str]) -> str | None:
    """A warning when the config file is readable by group or others, else ``None``."""
    file = Path(path).expanduser()
    try:
        mode = file.stat().st_mode
    except OSError:
        return None
    if os.name == "posix" and mode & _SHARED_BITS:
        return (
            f"{file} is readable by other users (mode {stat.filemode(mode)}); run: chmod 600 {file}"
        )
    return None


def _flag(text: str | None, key: str, where: str) -> bool | None:
    if text is None:
        return None
    word = text.strip().lower()
    if word in _TRUE | _FALSE:
        return word in _TRUE
    raise CommandError(f"{where}: {key} = {text!r} is not yes/no")


def _port(text: str | None, where: str) -> int | None:
    if text is None or text == "":
        return None
    if not text.strip().isdigit() or not 0 < int(text) < 65536:
        raise CommandError(f"{where}: port {text!r} is not 1-65535")
    return int(text)


def _first(*values: str | None) -> str | None:
    return next((v for v in values if v not in (None, "")), None)


def resolve(
    cmd: Connect,
    *,
    env: Mapping[str, str],
    profiles: Mapping[str, Mapping[str, str]],
    defaults: Defaults,
    prompt: Callable[[str], str] | None = None,
    config_path: str = DEFAULT_CONFIG_FILE,
) -> Settings:
    """Combine the line, a config section, the environment and the defaults."""
    named: Mapping[str, str] = {}
    if cmd.profile is not None:
        if cmd.profile not in profiles:
            known = ", ".join(f"@{p}" for p in profiles) or "none"
            raise CommandError(f"no [{cmd.profile}] section in {config_path} (known: {known})")
        named = profiles[cmd.profile]
    fallback = profiles.get(DEFAULT_SECTION, {}) if cmd.profile is None else {}
    where = f"{config_path} [{cmd.profile or DEFAULT_SECTION}]"

    def pick(key: str, env_key: str | None = None) -> str | None:
        from_env = env.get(env_key) if env_key else None
        return _first(named.get(key), from_env, fallback.get(key))

    host = cmd.host or pick("host", ENV_HOST) or defaults.host
    port = cmd.port or _port(pick("port", ENV_PORT), where) or defaults.port
    user = cmd.user or pick("user", ENV_USER) or defaults.user
    if not user:
        raise CommandError(
            "no AMI user: use --user U, set AMI_USER, or put user = ... in " + config_path
        )
    cafile = cmd.cafile or pick("cafile")
    tls = cmd.tls if cmd.tls is not None else bool(_flag(pick("tls"), "tls", where) or cafile)
    auth = cmd.auth or (pick("auth") or "auto").lower()
    if auth not in _AUTH:
        raise CommandError(f"{where}: auth = {auth!r} is not md5, plain or auto")
    events = cmd.events or pick("events")
    secret, source = _secret(cmd, env, named, fallback, defaults, where)
    if secret is None:
        if prompt is None:
            raise CommandError(_no_secret_help(cmd, defaults, config_path))
        secret = Secret(prompt(f"AMI secret for {user}@{host}: "))
        source = "prompt"
    cafile = str(Path(cafile).expanduser()) if cafile else None
    return Settings(host, port, user, secret, tls, auth, events, source, cafile)


def _from_section(
    section: Mapping[str, str], env: Mapping[str, str], where: str
) -> tuple[Secret | None, str]:
    var = section.get("secret_env")
    if var and env.get(var):
        return Secret(env[var]), f"${var}"
    if section.get("secret"):
        return Secret(section["secret"]), where
    return None, ""


def _secret(
    cmd: Connect,
    env: Mapping[str, str],
    named: Mapping[str, str],
    fallback: Mapping[str, str],
    defaults: Defaults,
    where: str,
) -> tuple[Secret | None, str]:
    """The secret (wrapped); same order as the other settings: line, @profile, env, [default]."""
    if cmd.secret is not None:
        return Secret(cmd.secret), "line"
    if cmd.secret_env:
        if not env.get(cmd.secret_env):
            raise CommandError(
                f"--secret-env {cmd.secret_env}: the environment variable is not set"
            )
        return Secret(env[cmd.secret_env]), f"${cmd.secret_env}"
    secret, source = _from_section(named, env, where)
    if secret is None and env.get(defaults.secret_env):
        secret, source = Secret(env[defaults.secret_env]), f"${defaults.secret_env}"
    if secret is None:
        secret, source = _from_section(fallback, env, where)
    return secret, source


def _no_secret_help(cmd: Connect, defaults: Defaults, config_path: str) -> str:
    var = cmd.secret_env or defaults.secret_env
    return (
        f"no AMI secret: set the environment variable {var}, or put secret_env/secret "
        f"in {config_path}"
    )
