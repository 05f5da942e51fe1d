"""tests/asterisk/sandbox.sh: writes stay inside the chroot; debootstrap picks its own mirror.

These run the script's parts against a fake root in a temporary directory,
with stand-in ``debootstrap``/``chroot`` commands; the real sandbox (shared,
running) is never touched, and neither is the host's ``/run``.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

SANDBOX = Path(__file__).resolve().parent / "asterisk" / "sandbox.sh"


def run_script(*args: str, root: Path, path_dir: Path | None = None, **env: str):
    environ = {k: v for k, v in os.environ.items() if not k.startswith("AMILAB_")}
    environ["AMILAB_ASTERISK_ROOT"] = str(root)
    if path_dir is not None:
        environ["PATH"] = f"{path_dir}:{environ['PATH']}"
    environ.update(env)
    return subprocess.run(
        ["bash", str(SANDBOX), *args], env=environ, capture_output=True, text=True, timeout=60
    )


@pytest.mark.parametrize(
    ("link", "made"),
    [
        ("var/run", "asterisk"),  # Debian's var/run -> /run
        ("var/log", "asterisk"),
        ("var/lib", "asterisk/moh-amilab"),
        ("etc", "asterisk/keys"),
    ],
)
def test_dirs_follow_absolute_links_inside_the_root(tmp_path, link, made):
    """An absolute symlink in the chroot resolves against the chroot, as chroot(2) would.

    The link points at a unique directory outside the fake root (standing in
    for the host's /run): the old ``mkdir -p $ROOT/var/run/asterisk`` created
    it on the host; now it must appear under the root and nowhere else.
    """
    root = tmp_path / "root"
    outside = tmp_path / "outside-host-dir"  # exists, as the host's /run does
    outside.mkdir()
    (root / link).parent.mkdir(parents=True)
    (root / link).symlink_to(outside)  # absolute target
    proc = run_script("dirs", root=root)
    assert proc.returncode == 0, proc.stderr
    assert list(outside.iterdir()) == [], "created outside the root"
    assert (root / str(outside).lstrip("/") / made).is_dir()
    assert (root / link).is_symlink() and os.readlink(root / link) == str(outside)


def test_dirs_resolve_dot_dot_at_the_root_to_the_root(tmp_path):
    """A relative link with more '..' than the chroot is deep stays in the root, as in a chroot."""
    root = tmp_path / "root"
    (root / "var").mkdir(parents=True)
    (root / "var" / "run").symlink_to("../../run-escape")  # from the host: tmp_path/run-escape
    (tmp_path / "run-escape").mkdir()
    proc = run_script("dirs", root=root)
    assert proc.returncode == 0, proc.stderr
    assert (root / "run-escape" / "asterisk").is_dir()
    assert list((tmp_path / "run-escape").iterdir()) == [], "created outside the root"


def fake_tools(tmp_path: Path) -> tuple[Path, Path]:
    """``debootstrap`` that logs its arguments and fakes an install; ``chroot`` that echoes."""
    bin_dir, log = tmp_path / "bin", tmp_path / "debootstrap.args"
    bin_dir.mkdir()
    (bin_dir / "debootstrap").write_text(
        "#!/bin/sh\n"
        f'printf "%s\\n" "$@" > "{log}"\n'
        'mkdir -p "$4/usr/sbin" && printf "#!/bin/sh\\n" > "$4/usr/sbin/asterisk"\n'
        'chmod +x "$4/usr/sbin/asterisk"\n'
    )
    (bin_dir / "chroot").write_text("#!/bin/sh\necho 'Asterisk 22 (fake)'\n")
    for tool in bin_dir.iterdir():
        tool.chmod(0o755)
    return bin_dir, log


def test_build_lets_debootstrap_choose_its_mirror(tmp_path):
    """Without AMILAB_DEBIAN_MIRROR no mirror argument is passed (the project names no host)."""
    bin_dir, log = fake_tools(tmp_path)
    root = tmp_path / "chroot"
    proc = run_script("build", root=root, path_dir=bin_dir)
    assert proc.returncode == 0, proc.stderr
    assert log.read_text().splitlines() == [
        "--variant=minbase",
        "--include=asterisk",
        "sid",
        str(root),
    ]


def test_build_passes_the_mirror_when_set(tmp_path):
    """AMILAB_DEBIAN_MIRROR, when set, is debootstrap's last argument."""
    bin_dir, log = fake_tools(tmp_path)
    root = tmp_path / "chroot"
    mirror = "http://mirror.invalid/debian"
    proc = run_script("build", root=root, path_dir=bin_dir, AMILAB_DEBIAN_MIRROR=mirror)
    assert proc.returncode == 0, proc.stderr
    assert log.read_text().splitlines()[-2:] == [str(root), mirror]


def test_dirs_refuse_a_symlink_loop(tmp_path):
    """A link loop inside the chroot stops with a message naming the path, creating nothing."""
    root = tmp_path / "root"
    (root / "var").mkdir(parents=True)
    (root / "var" / "run").symlink_to("run")  # var/run -> var/run -> ...
    proc = run_script("dirs", root=root)
    assert proc.returncode != 0
    assert "too many symlinks in /var/run/asterisk" in proc.stderr
    assert not (root / "run").exists()
