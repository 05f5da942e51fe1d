"""Record call scenarios again, into a scratch directory (never over the committed fixtures).

    python tests/sim/recordings/rerecord.py /tmp/rec1 originate_async_call hangup

Uses tests/asterisk/record.py's scenarios unchanged, only pointing its output
elsewhere. The ``*.rerun*.ami`` files next to this script came from it (Asterisk
22.10.1, the Debian sid sandbox); test_call_sequences.py checks that they and
the committed fixtures agree under its comparison, which is what shows where
real Asterisk's event order varies from run to run.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "asterisk"))
import record


def main(out: str, names: list[str]) -> None:
    Path(out).mkdir(parents=True, exist_ok=True)
    record.OUT = out
    meta = {name: record.SCENARIOS[name]() for name in names}
    (Path(out) / "meta.json").write_text(json.dumps(meta, indent=1))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
