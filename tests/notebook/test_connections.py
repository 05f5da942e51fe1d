"""Connections: the notebook's sessions, threads, simulators and news, without IPython."""

from __future__ import annotations

import logging
import subprocess
import sys
import time

import pytest

from amilab.errors import AuthenticationError, NotConnected
from amilab.notebook.config import Settings
from amilab.notebook.connections import Connections, probe
from amilab.protocol.login import Secret
from tests.notebook.conftest import SECRET, USER, amilab_threads

TIMEOUT = 5.0


def _settings(sim, secret=SECRET) -> Settings:
    return Settings(sim.host, sim.port, USER, Secret(secret))


@pytest.fixture
def links():
    conns = Connections()
    yield conns
    conns.close_all()


def test_importing_it_needs_no_ipython():
    """The connection object is plain Python: importing it loads neither IPython nor widgets."""
    code = (
        "import sys, amilab.notebook.connections; "
        "print(sorted(m for m in ('IPython', 'ipywidgets') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_connect_through_amilab_connect_on_its_own_thread(links, sim):
    """connect() logs in on a new notebook I/O thread and makes the link current."""
    before = amilab_threads().count("amilab-notebook-io")
    link = links.connect(_settings(sim), timeout=TIMEOUT)
    assert links.current is link and links.session is link.session and link.session.connected
    assert link.session.io is link.io and link.io.alive
    assert amilab_threads().count("amilab-notebook-io") == before + 1
    assert link.where == f"{sim.host}:{sim.port}"
    links.close_all()
    assert links.current is None and not link.io.alive
    with pytest.raises(NotConnected, match="%ami connect"):
        links.require()


def test_failed_login_keeps_the_link(links, sim):
    """A refused login leaves the working link current and connected, its thread alive."""
    working = links.connect(_settings(sim), timeout=TIMEOUT)
    threads = amilab_threads()
    with pytest.raises(AuthenticationError):
        links.connect(_settings(sim, "wrong"), timeout=TIMEOUT)
    assert links.current is working and working.session.connected
    assert amilab_threads() == threads


def test_sim_start_reuse_and_replace(links):
    """start_sim starts and owns a simulator; reusable_sim says when it may be reused."""
    link = links.start_sim(timeout=TIMEOUT)
    assert link.sim is links.sim and link.sim.profile.name == "20"
    assert links.reusable_sim(None, read_only=False) is link
    assert links.reusable_sim("20", read_only=False) is link
    assert links.reusable_sim("22", read_only=False) is None
    assert links.reusable_sim(None, read_only=True) is None
    first = link.sim
    second = links.start_sim(timeout=TIMEOUT, asterisk="22")
    assert "stopped" in repr(first) and second.sim.profile.name == "22"
    links.close()
    assert "stopped" in repr(second.sim)


def test_link_changes_become_news_for_the_kernel(links):
    """A drop and the reconnect warning are queued as news (our own close is not)."""
    logger = logging.getLogger("amilab")
    logger.addHandler(links.log_handler)
    try:
        link = links.start_sim(timeout=TIMEOUT)
        link.sim.faults.drop_all()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not any("reconnected" in n for n in links.news):
            time.sleep(0.05)
    finally:
        logger.removeHandler(links.log_handler)
    news = links.drain_news()
    assert f"amilab: the AMI link to {link.where} dropped" in news[0]
    assert any(n.startswith(f"amilab: reconnected to {link.where} after") for n in news)
    assert not links.news
    links.close()
    assert links.drain_news() == []


def test_monitors_are_owned_by_the_link(links, sim):
    """add_monitor needs a link; closing the link closes its monitors after the session."""

    class FakeMonitor:
        def __init__(self, session):
            self.session, self.seen = session, None

        def close(self):
            self.seen = self.session.connected

    with pytest.raises(NotConnected):
        links.add_monitor(object())
    link = links.connect(_settings(sim), timeout=TIMEOUT)
    monitor = links.add_monitor(FakeMonitor(link.session))
    assert links.monitors == [monitor]
    links.close()
    assert monitor.seen is False and links.monitors == []


def test_probe_fails_fast_on_a_closed_port():
    """probe() names the address and says nothing was asked."""
    with pytest.raises(ConnectionError, match=r"cannot reach 127\.0\.0\.1:1 .*no secret was asked"):
        probe(Settings("127.0.0.1", 1, "u", Secret("x")), 2.0)
