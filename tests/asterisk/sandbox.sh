#!/usr/bin/env bash
# Real Asterisk 22 (Debian sid) sandbox for the amilab tests.
#
#   tests/asterisk/sandbox.sh build|start|stop|restart|status|dirs
#
# Env:
#   AMILAB_ASTERISK_ROOT      chroot dir      (default /var/cache/amilab/asterisk-sid)
#   AMILAB_ASTERISK_PORT      AMI port        (default 15038; plain TCP, 127.0.0.1 only)
#   AMILAB_ASTERISK_TLS_PORT  AMI TLS port    (default 15039; 127.0.0.1 only)
#   AMILAB_DEBIAN_MIRROR      (default http://deb.debian.org/debian)
#
# Needs root, debootstrap, openssl.  Non-interactive, safe to call repeatedly.
# AMI users (test-only secrets): admin/amilab-admin (read=all write=all),
# readonly/amilab-readonly (read=all, no write).
# TLS CA/cert for clients: $ROOT/etc/asterisk/keys/amilab.crt
set -euo pipefail

ROOT="${AMILAB_ASTERISK_ROOT:-/var/cache/amilab/asterisk-sid}"
PORT="${AMILAB_ASTERISK_PORT:-15038}"
TLS_PORT="${AMILAB_ASTERISK_TLS_PORT:-15039}"
MIRROR="${AMILAB_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ETC_SRC="$HERE/etc"
MARKER="$ROOT/.amilab-build-complete"
LOG="$ROOT/var/log/amilab-asterisk.out"
PIDFILE="$ROOT/run/amilab-asterisk.pid"
export DEBIAN_FRONTEND=noninteractive
export LC_ALL=C

log() { echo "sandbox: $*" >&2; }

unmount_proc() {
    if [ -d "$ROOT/proc" ] && mountpoint -q "$ROOT/proc"; then
        umount "$ROOT/proc" || umount -l "$ROOT/proc" || true
    fi
}

build() {
    if [ -f "$MARKER" ] && [ -x "$ROOT/usr/sbin/asterisk" ]; then
        log "chroot ready at $ROOT"
        return 0
    fi
    command -v debootstrap >/dev/null || { log "debootstrap not installed"; exit 1; }
    if [ -e "$ROOT" ]; then
        log "incomplete chroot at $ROOT: removing and rebuilding"
        unmount_proc
        # never follow anything mounted below ROOT
        if grep -q " $ROOT/" /proc/mounts; then
            log "something is still mounted below $ROOT; refusing to rm"; exit 1
        fi
        rm -rf --one-file-system "$ROOT"
    fi
    mkdir -p "$(dirname "$ROOT")"
    log "debootstrap sid into $ROOT (about a minute)..."
    debootstrap --variant=minbase --include=asterisk sid "$ROOT" "$MIRROR" \
        </dev/null >"$(dirname "$ROOT")/debootstrap-$(basename "$ROOT").log" 2>&1 || {
        log "debootstrap failed, see $(dirname "$ROOT")/debootstrap-$(basename "$ROOT").log"
        tail -20 "$(dirname "$ROOT")/debootstrap-$(basename "$ROOT").log" >&2
        exit 1
    }
    [ -x "$ROOT/usr/sbin/asterisk" ] || { log "asterisk missing after debootstrap"; exit 1; }
    chroot "$ROOT" asterisk -V > "$ROOT/.amilab-asterisk-version"
    date -u +%Y-%m-%dT%H:%M:%SZ > "$MARKER"
    log "built: $(cat "$ROOT/.amilab-asterisk-version")"
}

make_cert() {
    local keys="$ROOT/etc/asterisk/keys"
    mkdir -p "$keys"
    if [ ! -s "$keys/amilab.crt" ] || [ ! -s "$keys/amilab.key" ]; then
        command -v openssl >/dev/null || { log "openssl missing: TLS disabled"; return 0; }
        openssl req -x509 -newkey rsa:2048 -nodes -days 3650 \
            -keyout "$keys/amilab.key" -out "$keys/amilab.crt" \
            -subj "/CN=127.0.0.1/O=amilab test sandbox" \
            -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" \
            -addext "basicConstraints=critical,CA:TRUE" >/dev/null 2>&1
        cat "$keys/amilab.key" "$keys/amilab.crt" > "$keys/amilab.pem"
        chmod 600 "$keys/amilab.key" "$keys/amilab.pem"
    fi
}

make_dirs() {
    # the directories asterisk writes to (callable alone: `sandbox.sh dirs`)
    local d
    for d in /var/lib/asterisk /var/log/asterisk /var/spool/asterisk /var/run/asterisk /run/asterisk; do
        mkdir -p "$ROOT$d"
    done
}

install_config() {
    mkdir -p "$ROOT/etc/asterisk"
    cp -f "$ETC_SRC"/*.conf "$ROOT/etc/asterisk/"
    # pbx_config warns "users.conf is deprecated" as long as the file exists
    rm -f "$ROOT/etc/asterisk/users.conf"
    # honour port overrides (the repo config has the defaults)
    sed -i -e "s/^port *=.*/port = $PORT/" \
           -e "s/^tlsbindaddr *=.*/tlsbindaddr = 127.0.0.1:$TLS_PORT/" \
        "$ROOT/etc/asterisk/manager.conf"
    make_cert
    # a one-file music-on-hold class (the Debian chroot ships no MOH files)
    mkdir -p "$ROOT/var/lib/asterisk/moh-amilab"
    if [ -z "$(ls -A "$ROOT/var/lib/asterisk/moh-amilab")" ]; then
        cp "$ROOT/usr/share/asterisk/sounds/en_US_f_Allison/beep.gsm" "$ROOT/var/lib/asterisk/moh-amilab/" 2>/dev/null ||
            cp "$(find "$ROOT/usr/share/asterisk/sounds" -name '*.gsm' | head -1)" "$ROOT/var/lib/asterisk/moh-amilab/" || true
    fi
    make_dirs
    chroot "$ROOT" chown -R asterisk:asterisk \
        /var/lib/asterisk /var/log/asterisk /var/spool/asterisk /run/asterisk /etc/asterisk
}

ami_greeting() {
    # print the AMI greeting line; fail if nothing answers
    timeout 3 bash -c "exec 3<>/dev/tcp/127.0.0.1/$PORT && IFS= read -r line <&3 && printf '%s\n' \"\${line%\$'\r'}\"" 2>/dev/null
}

is_running() {
    [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null
}

start() {
    build
    if is_running && ami_greeting >/dev/null; then
        log "already running (pid $(cat "$PIDFILE"))"
        status
        return 0
    fi
    if is_running; then
        log "stale asterisk process, stopping first"
        stop
    fi
    install_config
    mountpoint -q "$ROOT/proc" || mount -t proc proc "$ROOT/proc"
    rm -f "$ROOT/run/asterisk/asterisk.ctl"
    : > "$LOG"
    setsid chroot "$ROOT" asterisk -f -U asterisk -G asterisk </dev/null >>"$LOG" 2>&1 &
    echo $! > "$PIDFILE"
    local i greeting=""
    for i in $(seq 1 120); do
        if greeting="$(ami_greeting)" && [ -n "$greeting" ]; then
            break
        fi
        if ! is_running; then
            log "asterisk exited during startup; log:"
            tail -40 "$LOG" >&2
            exit 1
        fi
        sleep 0.5
    done
    if [ -z "$greeting" ]; then
        log "AMI did not answer on 127.0.0.1:$PORT within 60s; log:"
        tail -40 "$LOG" >&2
        exit 1
    fi
    # wait until fully booted so the dialplan/pjsip/queues are there
    for i in $(seq 1 40); do
        chroot "$ROOT" asterisk -rx 'core waitfullybooted' >/dev/null 2>&1 && break
        sleep 0.5
    done
    echo "$greeting"
    log "started (pid $(cat "$PIDFILE")); AMI 127.0.0.1:$PORT, TLS 127.0.0.1:$TLS_PORT; log $LOG"
}

stop() {
    if [ ! -d "$ROOT/proc" ]; then
        log "no chroot at $ROOT"; return 0
    fi
    if is_running; then
        local pid; pid="$(cat "$PIDFILE")"
        chroot "$ROOT" asterisk -rx 'core stop now' >/dev/null 2>&1 || true
        local i
        for i in $(seq 1 20); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.5
        done
        if kill -0 "$pid" 2>/dev/null; then
            log "asterisk did not stop, sending TERM"
            kill -TERM "$pid" 2>/dev/null || true
            sleep 2
            kill -KILL "$pid" 2>/dev/null || true
        fi
        log "stopped"
    else
        log "not running"
    fi
    rm -f "$PIDFILE"
    unmount_proc
}

status() {
    local greeting
    if greeting="$(ami_greeting)" && [ -n "$greeting" ]; then
        echo "running: $greeting"
        echo "ami: 127.0.0.1:$PORT"
        echo "ami-tls: 127.0.0.1:$TLS_PORT"
        echo "tls-cert: $ROOT/etc/asterisk/keys/amilab.crt"
        echo "root: $ROOT"
        [ -f "$ROOT/.amilab-asterisk-version" ] && echo "version: $(cat "$ROOT/.amilab-asterisk-version")"
        return 0
    fi
    echo "not running (nothing answers on 127.0.0.1:$PORT)"
    return 1
}

case "${1:-}" in
    build) build ;;
    start) start ;;
    stop) stop ;;
    restart) stop; start ;;
    status) status ;;
    dirs) make_dirs ;;
    *) echo "usage: $0 build|start|stop|restart|status|dirs" >&2; exit 2 ;;
esac
