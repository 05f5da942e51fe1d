"""%ami / %%ami in a real IPython shell against the embedded simulator (and real Asterisk)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from IPython.core.error import UsageError

from amilab.errors import ActionError
from amilab.protocol import ActionResult
from tests.notebook.conftest import SECRET, USER, amilab_threads, open_sockets


def _connect_sim(ip, sim, monkeypatch):
    monkeypatch.setenv("AMI_SECRET", SECRET)
    ip.run_line_magic("ami", f"connect {sim.host}:{sim.port} --user {USER}")


# -- loading -------------------------------------------------------------------
def test_load_registers_line_and_cell_magic(ip):
    """%load_ext amilab registers %ami and %%ami with the parser's help as docstring."""
    line, cell = ip.find_line_magic("ami"), ip.find_cell_magic("ami")
    assert line is not None and cell is not None
    assert "%ami connect" in line.__doc__ and "--for S" in line.__doc__


def test_import_stays_light():
    """import amilab / amilab.notebook imports neither IPython nor ipywidgets."""
    code = (
        "import sys, amilab, amilab.notebook; "
        "print(sorted(m for m in ('IPython', 'ipywidgets', 'pandas') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_config_traits(ip, magics, capsys):
    """%config AmiMagics.X = ... sets a trait; %config AmiMagics lists them with help."""
    ip.run_line_magic("config", "AmiMagics.timeout = 3.5")
    assert magics.timeout == 3.5
    ip.run_line_magic("config", "AmiMagics")
    listing = capsys.readouterr().out
    for trait in ("timeout", "autolimit", "short_errors", "secret_env", "config_file"):
        assert f"AmiMagics.{trait}" in listing


def test_ipython_config_file_settings(ip):
    """c.AmiMagics.X in the shell's config (ipython_config.py) applies at load time."""
    ip.run_line_magic("unload_ext", "amilab")
    ip.config.AmiMagics.timeout = 7.0
    ip.config.AmiMagics.autolimit = 9
    try:
        ip.run_line_magic("load_ext", "amilab")
        magics = ip.magics_manager.registry["AmiMagics"]
        assert (magics.timeout, magics.autolimit) == (7.0, 9)
    finally:
        del ip.config["AmiMagics"]


# -- connecting ----------------------------------------------------------------
def test_sim_connects_and_prints_one_line(ip, magics, capsys):
    """%ami sim starts the simulator, logs in as admin, prints what it imitates and versions."""
    ip.run_line_magic("ami", "sim")
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1
    where = f"{magics.sim.host}:{magics.sim.port}"
    assert out[0].startswith(f"Connected to {magics.sim.banner} at {where} as admin")
    assert "Asterisk 20" in out[0] and "AMI 9.0.0" in out[0]
    assert magics.session.connected


def test_connect_with_env_secret(ip, sim, magics, capsys, monkeypatch):
    """%ami connect HOST:PORT --user U reads the secret from $AMI_SECRET."""
    _connect_sim(ip, sim, monkeypatch)
    assert f"as {USER}" in capsys.readouterr().out
    assert magics.session.client.username == USER


def test_connect_from_profile_warns_on_permissions(ip, sim, tmp_path, capsys):
    """%ami connect @name uses the INI section; a world-readable file gets a warning."""
    path = tmp_path / "connections.ini"
    path.write_text(f"[lab]\nhost = {sim.host}\nport = {sim.port}\nuser = {USER}\n")
    path.write_text(path.read_text() + f"secret = {SECRET}\n")
    path.chmod(0o644)
    ip.run_line_magic("config", f"AmiMagics.config_file = {str(path)!r}")
    ip.run_line_magic("ami", "connect @lab")
    captured = capsys.readouterr()
    assert "chmod 600" in captured.err
    assert f"as {USER}" in captured.out


def test_connect_prompts_for_secret(ip, sim, magics, monkeypatch, capsys):
    """Without env or file, the secret is asked for with getpass."""
    prompts = []
    monkeypatch.setattr(
        "amilab.notebook.magics.getpass.getpass", lambda text: prompts.append(text) or SECRET
    )
    ip.run_line_magic("ami", f"connect {sim.host}:{sim.port} --user {USER}")
    assert prompts == [f"AMI secret for {USER}@{sim.host}: "]
    assert magics.session.connected


def test_secret_on_line_works_but_warns(ip, sim, magics, capsys):
    """--secret S logs in, and warns that the secret is in the notebook's history."""
    ip.run_line_magic("ami", f"connect {sim.host}:{sim.port} --user {USER} --secret {SECRET}")
    captured = capsys.readouterr()
    assert "history" in captured.err
    assert magics.session.connected
    assert SECRET not in captured.out + captured.err


def test_reconnect_replaces_session(ip, sim, magics, monkeypatch):
    """A second connect closes the first session and its I/O thread."""
    _connect_sim(ip, sim, monkeypatch)
    first = magics.session
    _connect_sim(ip, sim, monkeypatch)
    assert magics.session is not first and not first.connected
    assert amilab_threads().count("amilab-notebook-io") == 1


def test_status_and_disconnect(ip, magics, capsys):
    """%ami status describes the link; %ami disconnect closes it and stops our simulator."""
    threads_before = amilab_threads()  # other tests' shared I/O thread may be alive
    ip.run_line_magic("ami", "status")
    assert capsys.readouterr().out.startswith("Not connected.")
    ip.run_line_magic("ami", "sim")
    ip.run_line_magic("ami", "status")
    status = capsys.readouterr().out.splitlines()[-1]
    assert status.startswith("admin@") and f"{magics.sim.banner}: connected" in status
    ip.run_line_magic("ami", "disconnect")
    assert "simulator stopped" in capsys.readouterr().out
    assert magics.session is None and magics.sim is None
    assert amilab_threads() == threads_before


# -- actions -------------------------------------------------------------------
def test_action_returns_dataframe_of_list_items(ip):
    """df = %ami PJSIPShowEndpoints assigns a DataFrame, one row per endpoint."""
    ip.run_line_magic("ami", "sim")
    result = ip.run_cell("df = %ami PJSIPShowEndpoints")
    assert result.success
    df = ip.user_ns["df"]
    assert isinstance(df, pd.DataFrame)
    assert set(df["ObjectName"]) >= {"100", "101"}
    assert (ip.user_ns["_ami"].to_frame()["Event"] == "EndpointList").all()


def test_action_without_list_returns_response(ip):
    """An action with no list items shows its response as a one-row table."""
    ip.run_line_magic("ami", "sim")
    df = ip.run_line_magic("ami", "Ping")
    assert list(df["Response"]) == ["Success"]
    assert list(df["Ping"]) == ["Pong"]


def test_last_result_kept(ip):
    """_ami and %ami last hold the full ActionResult of the last action."""
    ip.run_line_magic("ami", "sim")
    ip.run_line_magic("ami", "CoreShowChannels")
    last = ip.run_line_magic("ami", "last")
    assert isinstance(last, ActionResult) and last is ip.user_ns["_ami"]
    assert last.action.name == "CoreShowChannels" and last.ok


def test_out_option_stores_and_returns_nothing(ip, capsys):
    """-o NAME stores the table in NAME, prints its shape and returns None."""
    ip.run_line_magic("ami", "sim")
    assert ip.run_line_magic("ami", "PJSIPShowEndpoints -o r") is None
    assert isinstance(ip.user_ns["r"], pd.DataFrame)
    assert capsys.readouterr().out.splitlines()[-1].startswith(f"r = {len(ip.user_ns['r'])} rows")


def test_raw_returns_action_result(ip):
    """--raw returns the ActionResult instead of a DataFrame."""
    ip.run_line_magic("ami", "sim")
    assert isinstance(ip.run_line_magic("ami", "Ping --raw"), ActionResult)


def test_headers_variables_and_repeats(ip):
    """{var} expands per value, ${...} stays for Asterisk, repeated keys repeat headers."""
    ip.run_line_magic("ami", "sim")
    cell = (
        "chan = 'Local/100@amilab'\n"
        "%ami Originate Channel={chan} Application=Wait Data=1 Async=true "
        "Variable=A=${CALLERID(num)} Variable='B=two words' --raw"
    )
    assert ip.run_cell(cell).success
    headers = ip.user_ns["_ami"].action.headers
    assert ("Channel", "Local/100@amilab") in headers
    variables = [v for k, v in headers if k == "Variable"]
    assert variables == ["A=${CALLERID(num)}", "B=two words"]


def test_undefined_variable_fails_cell(ip, capsys):
    """{missing} is an error naming the variable, and the cell fails."""
    ip.run_line_magic("ami", "sim")
    result = ip.run_cell("%ami Originate Channel={no_such_var}")
    assert result.success is False
    assert "'no_such_var' is not defined" in capsys.readouterr().err


def test_autolimit(ip, magics, capsys):
    """autolimit cuts the returned table and says where the full result is."""
    ip.run_line_magic("ami", "sim")
    magics.autolimit = 2
    df = ip.run_line_magic("ami", "PJSIPShowEndpoints")
    assert len(df) == 2 and len(ip.user_ns["_ami"].events) > 2
    assert "Showing 2 of" in capsys.readouterr().err


# -- cells -----------------------------------------------------------------------
def test_cell_single_action_returns_its_frame(ip):
    """%%ami ACTION with header lines returns that action's table."""
    ip.run_line_magic("ami", "sim")
    df = ip.run_cell_magic("ami", "PJSIPShowEndpoint", "Endpoint: 100\n")
    assert isinstance(df, pd.DataFrame) and "Event" in df.columns
    assert ip.user_ns["_ami"].action.headers[-1] == ("Endpoint", "100")


def test_cell_several_actions_concatenated(ip):
    """Blank-line separated actions run in order; the tables concatenate with an action column."""
    ip.run_line_magic("ami", "sim")
    body = "Action: Ping\n\nAction: PJSIPShowEndpoints\n"
    df = ip.run_cell_magic("ami", "", body)
    assert df.columns[0] == "action"
    assert df["action"].iloc[0] == "Ping"
    assert (df["action"].iloc[1:] == "PJSIPShowEndpoints").all() and len(df) > 2


def test_cell_expand_is_opt_in(ip):
    """{var} in a cell body is sent literally unless --expand is on the magic line."""
    ip.run_line_magic("ami", "sim")
    ip.user_ns["chan"] = "PJSIP/100"
    ip.run_cell_magic("ami", "UserEvent --raw", "UserEvent: Note\nBody: {chan}\n")
    assert ("Body", "{chan}") in ip.user_ns["_ami"].action.headers
    ip.run_cell_magic("ami", "UserEvent --raw --expand", "UserEvent: Note\nBody: {chan}\n")
    assert ("Body", "PJSIP/100") in ip.user_ns["_ami"].action.headers


def test_cell_failure_names_the_action(ip, capsys):
    """A failing action in a multi-action cell stops the cell and says which one."""
    ip.run_line_magic("ami", "sim")
    result = ip.run_cell("%%ami\nAction: Ping\n\nAction: NoSuchThing\n")
    assert result.success is False
    assert "action 2 of 2" in capsys.readouterr().err


# -- CLI commands --------------------------------------------------------------------
def test_command_prints_output(ip, capsys):
    """%ami command prints the CLI output as text and returns nothing."""
    ip.run_line_magic("ami", "sim")
    capsys.readouterr()
    assert ip.run_line_magic("ami", "command core show uptime") is None
    assert capsys.readouterr().out.startswith("System uptime:")


def test_cell_commands(ip, capsys):
    """%%ami command runs one CLI command per line, each output under its command."""
    ip.run_line_magic("ami", "sim")
    capsys.readouterr()
    ip.run_cell_magic("ami", "command", "core show uptime\ncore show channels\n")
    out = capsys.readouterr().out
    assert "> core show uptime\nSystem uptime" in out
    assert "> core show channels" in out


# -- documentation ----------------------------------------------------------------
def test_help_action_prints_server_docs(ip, capsys):
    """%ami help ACTION prints the server's own documentation of the action."""
    ip.run_line_magic("ami", "sim")
    ip.run_line_magic("ami", "help Originate")
    out = capsys.readouterr().out
    assert "[Syntax]" in out and "Channel: <value>" in out


def test_help_unknown_action_suggests(ip, capsys):
    """%ami help with a misspelt action fails with a close match from ListCommands."""
    ip.run_line_magic("ami", "sim")
    ip.run_line_magic("ami", "actions")
    result = ip.run_cell("%ami help Originat")
    assert result.success is False
    assert "no documentation for Originat. Did you mean Originate?" in capsys.readouterr().err


def test_actions_table(ip):
    """%ami actions is the ListCommands table: action, synopsis, privilege."""
    ip.run_line_magic("ami", "sim")
    df = ip.run_line_magic("ami", "actions")
    assert list(df.columns) == ["action", "synopsis", "privilege"]
    row = df[df["action"] == "Originate"].iloc[0]
    assert row["synopsis"] == "Originate a call." and "originate" in row["privilege"]


# -- events ------------------------------------------------------------------------
def test_events_collects_into_frame(ip, capsys):
    """%ami events PATTERN --for S --max N collects matching events into a DataFrame."""
    ip.run_line_magic("ami", "sim")
    ip.run_line_magic(
        "ami", "Originate Channel=Local/100@amilab Application=Wait Data=1 Async=true"
    )
    df = ip.run_line_magic("ami", "events Hangup --for 5 --max 1")
    assert list(df["Event"]) == ["Hangup"]
    out = capsys.readouterr().out
    assert " Hangup " in out and "1 events in" in out


def test_sim_traffic_generates_calls(ip):
    """%ami sim --traffic RATE starts the call generator: channels appear without originating."""
    ip.run_line_magic("ami", "sim --traffic 20")
    df = ip.run_line_magic("ami", "events Newchannel --for 5 --max 2 -q")
    assert list(df["Event"]) == ["Newchannel", "Newchannel"]


def test_events_timeout_with_nothing(ip, capsys):
    """%ami events with no matching event ends after --for seconds with an empty table."""
    ip.run_line_magic("ami", "sim")
    df = ip.run_line_magic("ami", "events NoSuchEvent --for 0.2 -q")
    assert len(df) == 0
    assert "0 events in" in capsys.readouterr().out


def test_monitor_returns_widget_closed_on_disconnect(ip, magics):
    """%ami monitor returns an EventMonitor on the session; disconnect closes it."""
    from amilab.notebook.monitor import EventMonitor

    ip.run_line_magic("ami", "sim")
    monitor = ip.run_line_magic("ami", "monitor Hangup")
    assert isinstance(monitor, EventMonitor)
    assert magics.links.monitors == [monitor]
    ip.run_line_magic("ami", "disconnect")
    assert magics.links.monitors == []


# -- errors ------------------------------------------------------------------------
def test_unknown_action_suggests_close_name(ip, capsys):
    """An unknown action's error adds the closest action names the server has."""
    ip.run_line_magic("ami", "sim")
    ip.run_line_magic("ami", "actions")
    ip.run_cell("%ami Originat")
    assert capsys.readouterr().err.rstrip().endswith("commands. Did you mean Originate?")


def test_last_before_any_action(ip, capsys):
    """%ami last with nothing run yet fails with a one-line explanation."""
    assert ip.run_cell("%ami last").success is False
    assert "no action has run yet" in capsys.readouterr().err


def test_action_error_is_one_line_and_fails_cell(ip, capsys):
    """An ActionError prints the server's Message on one line and fails the cell."""
    ip.run_line_magic("ami", "sim")
    capsys.readouterr()
    result = ip.run_cell("%ami NoSuchAction")
    assert result.success is False
    assert isinstance(result.error_in_exec, UsageError)
    err = capsys.readouterr().err.strip()
    assert err.startswith("UsageError: NoSuchAction failed: Invalid/unknown command")
    assert "Traceback" not in err and len(err.splitlines()) == 1
    assert not ip.user_ns["_ami"].ok


def test_not_connected_says_how(ip, capsys):
    """An action without a connection fails and says how to connect."""
    result = ip.run_cell("%ami Ping")
    assert result.success is False
    assert "%ami connect" in capsys.readouterr().err


def test_connection_refused_says_what_to_check(ip, monkeypatch, capsys):
    """A refused connection fails in one line naming host and port."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("AMI_SECRET", "x")
    result = ip.run_cell(f"%ami connect 127.0.0.1:{port} --user u")
    assert result.success is False
    err = capsys.readouterr().err
    assert f"127.0.0.1:{port}" in err and "manager.conf" in err


def test_wrong_secret_is_short(ip, sim, monkeypatch, capsys):
    """A refused login fails with a one-line 'login refused'."""
    monkeypatch.setenv("AMI_SECRET", "wrong")
    result = ip.run_cell(f"%ami connect {sim.host}:{sim.port} --user {USER}")
    assert result.success is False
    assert "login refused" in capsys.readouterr().err


def test_usage_error_on_bad_line(ip, capsys):
    """A line that does not parse fails with the parser's message."""
    result = ip.run_cell("%ami events --user x")
    assert result.success is False
    assert "--user does not apply to %ami events" in capsys.readouterr().err


def test_short_errors_false_reraises(ip, magics):
    """With short_errors False the original exception propagates."""
    ip.run_line_magic("ami", "sim")
    magics.short_errors = False
    with pytest.raises(ActionError):
        ip.run_line_magic("ami", "NoSuchAction")
    result = ip.run_cell("%ami NoSuchAction")
    assert isinstance(result.error_in_exec, ActionError)


# -- secrets ------------------------------------------------------------------------
def test_secret_never_shown(ip, sim, magics, monkeypatch, capsys):
    """The secret appears in no output, result, repr or error of a busy session."""
    _connect_sim(ip, sim, monkeypatch)
    lines = [
        "%ami status",
        "%ami Ping",
        "%ami CoreShowChannels",
        "%ami NoSuchAction",
        "%ami Originate",
        "%ami command core show uptime",
        "%ami help Login",
        "%ami last",
        f"%ami connect {sim.host}:{sim.port} --user {USER} --secret {SECRET}",
        "%ami connect 127.0.0.1:1 --user u",
        "%ami events --for 0.1 -q",
        "%ami status",
    ]
    shown = []
    for line in lines:
        result = ip.run_cell(line)
        shown += [repr(result.result), repr(result.error_in_exec), str(result.error_in_exec)]
    shown += [repr(magics.session), repr(ip.user_ns.get("_ami")), repr(magics)]
    captured = capsys.readouterr()
    text = "\n".join([captured.out, captured.err, *shown])
    assert "Invalid/unknown command" in text  # the failing lines did print
    assert SECRET not in text


# -- unloading -------------------------------------------------------------------------
def test_unload_leaves_no_thread_or_socket(ip):
    """%unload_ext closes the session, stops its thread and our simulator, removes %ami."""
    threads_before, sockets_before = amilab_threads(), open_sockets()
    ip.run_line_magic("ami", "sim")
    ip.run_line_magic("ami", "Ping")
    assert "amilab-notebook-io" in amilab_threads() and "amilab-sim" in amilab_threads()
    ip.run_line_magic("unload_ext", "amilab")
    assert amilab_threads() == threads_before
    assert open_sockets() == sockets_before
    assert ip.find_line_magic("ami") is None
    assert not any(getattr(m, "__self__", None) for m in ip.Completer.custom_matchers)


def test_reload_keeps_one_working_magic(ip):
    """%reload_ext closes the old session; the new magics work and leave one matcher."""
    threads_before = amilab_threads()
    ip.run_line_magic("ami", "sim")
    ip.run_line_magic("reload_ext", "amilab")
    assert amilab_threads() == threads_before
    result = ip.run_cell("%ami Ping")
    assert result.success is False  # a fresh, unconnected magics object
    ip.run_line_magic("ami", "sim")
    assert ip.run_line_magic("ami", "Ping")["Response"].iloc[0] == "Success"
    ours = [m for m in ip.Completer.custom_matchers if hasattr(m, "__self__")]
    assert len(ours) == 1


def test_shared_io_thread_untouched(ip):
    """Unloading does not stop the process-wide I/O thread other sessions use."""
    from amilab.iothread import IOThread

    shared = IOThread.shared()
    ip.run_line_magic("ami", "sim")
    ip.run_line_magic("unload_ext", "amilab")
    assert shared.alive


# -- real Asterisk -------------------------------------------------------------------
@pytest.fixture
def asterisk_ip(ip, asterisk, monkeypatch, capsys):
    """The shell connected to the real Asterisk 22 sandbox as admin."""
    user, secret = asterisk.admin
    monkeypatch.setenv("AMI_SECRET", secret)
    ip.run_line_magic("ami", f"connect {asterisk.host}:{asterisk.port} --user {user}")
    assert "as admin: Asterisk 22" in capsys.readouterr().out
    return ip


@pytest.mark.asterisk
def test_asterisk_help_originate(asterisk_ip, capsys):
    """%ami help Originate prints Asterisk 22's own syntax for Originate."""
    asterisk_ip.run_line_magic("ami", "help Originate")
    out = capsys.readouterr().out
    assert "-= Info about Manager Command 'Originate' =-" in out and "Channel: <value>" in out


@pytest.mark.asterisk
def test_asterisk_actions(asterisk_ip):
    """%ami actions lists Asterisk's actions with synopsis and privilege."""
    df = asterisk_ip.run_line_magic("ami", "actions")
    row = df[df["action"] == "Originate"].iloc[0]
    assert row["privilege"] == "originate,all"
    assert len(df) > 100


@pytest.mark.asterisk
def test_asterisk_tls_with_cafile(ip, asterisk, monkeypatch, capsys):
    """--cafile PEM connects over TLS, verifying the sandbox's certificate."""
    if asterisk.tls_cert is None:
        pytest.skip("the sandbox reports no TLS certificate")
    user, secret = asterisk.admin
    monkeypatch.setenv("AMI_SECRET", secret)
    line = f"connect {asterisk.host}:{asterisk.tls_port} --user {user} --cafile {asterisk.tls_cert}"
    ip.run_line_magic("ami", line)
    assert f":{asterisk.tls_port} as admin: Asterisk 22" in capsys.readouterr().out
    assert ip.run_line_magic("ami", "Ping")["Ping"].iloc[0] == "Pong"


@pytest.mark.asterisk
def test_asterisk_command_uptime(asterisk_ip, capsys):
    """%ami command core show uptime prints Asterisk's CLI text."""
    capsys.readouterr()
    asterisk_ip.run_line_magic("ami", "command core show uptime")
    assert capsys.readouterr().out.startswith("System uptime:")


# -- a real kernel ---------------------------------------------------------------------
def test_failed_magic_stops_a_notebook_run(tmp_path):
    """In a Jupyter kernel a failing %ami shows one stderr line and stops "Run all"."""
    nbclient = pytest.importorskip("nbclient")
    nbformat = pytest.importorskip("nbformat")
    cells = ["%load_ext amilab", "%ami sim", "%ami NoSuchAction", "print('not reached')"]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    root = str(Path(__file__).resolve().parents[2])
    client = nbclient.NotebookClient(
        nb, timeout=60, kernel_name="python3", resources={"metadata": {"path": root}}
    )
    with pytest.raises(nbclient.exceptions.CellExecutionError):
        client.execute()
    (error,) = nb.cells[2].outputs
    assert error.name == "stderr" and error.text.startswith("UsageError: NoSuchAction failed")
    assert nb.cells[3].outputs == []


WRONG_SECRET = "Wq3-wrong-but-still-secret"
CANARY = "Cn8-some-other-environment-value"


@pytest.mark.parametrize("source", ["environment", "config file", "bad config"])
def test_failed_connect_with_verbose_tracebacks_shows_no_secret_or_environment(
    ip, sim, monkeypatch, capsys, tmp_path, source
):
    """%xmode Verbose + short_errors=False: the full traceback with every local shows neither
    the secret that failed nor the rest of os.environ."""
    monkeypatch.setenv("AMILAB_TEST_CANARY", CANARY)
    if source == "environment":
        monkeypatch.setenv("AMI_SECRET", WRONG_SECRET)
        line = f"connect {sim.host}:{sim.port} --user {USER}"
    else:
        # "bad config": the error comes from inside resolve(), whose frame holds the
        # environment and the section (with its secret) as locals.
        port = "not-a-port" if source == "bad config" else sim.port
        monkeypatch.setenv("AMI_SECRET", WRONG_SECRET)
        ini = tmp_path / "connections.ini"
        ini.write_text(
            f"[lab]\nhost = {sim.host}\nport = {port}\nuser = {USER}\nsecret = {WRONG_SECRET}\n"
        )
        ini.chmod(0o600)
        ip.run_line_magic("config", f"AmiMagics.config_file = {str(ini)!r}")
        line = "connect @lab"
    ip.run_line_magic("xmode", "Verbose")
    ip.run_line_magic("config", "AmiMagics.short_errors = False")
    try:
        result = ip.run_cell(f"%ami {line}")
    finally:
        ip.run_line_magic("xmode", "Context")
        ip.run_line_magic("config", "AmiMagics.short_errors = True")
    captured = capsys.readouterr()
    text = captured.out + captured.err
    assert result.error_in_exec is not None
    expected = "CommandError" if source == "bad config" else "AuthenticationError"
    assert expected in text and "Connect(host=" in text  # the traceback shows locals
    assert WRONG_SECRET not in text
    assert CANARY not in text


def test_scrub_masks_the_secret_as_a_token_only(ip, magics):
    """The last-line scrub never cuts into an ActionID that happens to contain the secret."""
    import amilab.sim

    pbx = amilab.sim.start(users={"bob": {"secret": "amilab", "read": "all", "write": "all"}})
    try:
        ip.run_line_magic("ami", f"connect {pbx.host}:{pbx.port} --user bob --secret amilab")
        message = "Ping got no complete answer within 5.0s (ActionID amilab-4711-a1b2c3-7)"
        assert magics._scrub(message) == message
        assert magics._scrub("the secret amilab leaked") == "the secret *** leaked"
    finally:
        ip.run_line_magic("ami", "disconnect")
        pbx.stop()
