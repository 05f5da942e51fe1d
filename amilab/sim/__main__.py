"""Run the simulator in the foreground.

``python -m amilab.sim --port 5038 [--traffic 2] [--seed 1] [--asterisk 20]``
"""

from __future__ import annotations

import argparse
import threading

from amilab.sim import DEFAULT_SECRET, DEFAULT_USER, PROFILES, start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m amilab.sim", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5038)
    parser.add_argument("--traffic", type=float, default=None, help="generated calls per second")
    parser.add_argument("--seed", type=int, default=None, help="seed for reproducible traffic")
    parser.add_argument(
        "--asterisk",
        choices=sorted(PROFILES),
        default=None,
        help="the Asterisk to imitate: 22 (default, PJSIP only) or 20 (chan_sip + PJSIP)",
    )
    parser.add_argument(
        "--legacy-sip",
        action="store_true",
        help="older spelling of --asterisk 20 (chan_sip's SIPpeers, SIPshowpeer, ...)",
    )
    args = parser.parse_args(argv)
    sim = start(
        args.host,
        args.port,
        seed=args.seed,
        traffic=args.traffic,
        asterisk=args.asterisk,
        legacy_sip=args.legacy_sip,
    )
    try:
        host, port = sim.address
        print(f"amilab {sim.banner}, AMI listening on {host}:{port}")
        # The simulator's demo credential is public (it guards nothing real), so it is shown.
        print(f"login: {DEFAULT_USER} / {DEFAULT_SECRET} (public demo secret of the simulator)")
        print("Ctrl-C stops.", flush=True)
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        sim.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
