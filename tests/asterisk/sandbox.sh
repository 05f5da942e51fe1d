#!/usr/bin/env bash
# Real Asterisk 22 (Debian sid) sandbox for the amilab tests.
#
#   tests/asterisk/sandbox.sh build|start|stop|restart|status|dirs
#
# Env:
#   AMILAB_ASTERISK_ROOT      chroot dir      (default /var/cache/amilab/asterisk-sid)
#   AMILAB_ASTERISK_PORT      AMI port        (default 15038; plain TCP, 127.0.0.1 only)
#   AMILAB_ASTERISK_TLS_PORT  AMI TLS port    (default 15039; 127.0.0.1 only)
#   AMILAB_DEBIAN_MIRROR      Debian mirror for debootstrap (default: unset, so
#                             debootstrap uses its own default mirror)
#
# Needs root, debootstrap, openssl.  Non-interactive, safe to call repeatedly.
# Every path inside the chroot is resolved by in_root, as the chroot itself
# would see it: Debian's var/run is an absolute link to /run, so a plain
# "mkdir -p $ROOT/var/run/asterisk" would follow it onto the host.
# `sandbox.sh dirs` only makes the chroot's directories (tests run it on a fake root).
# AMI users (test-only secrets): admin/amilab-admin (read=all write=all),
# readonly/amilab-readonly (read=all, no write).
# TLS CA/cert for clients: $ROOT/etc/asterisk/keys/amilab.crt
set -euo pipefail

ROOT="${AMILAB_ASTERISK_ROOT:-/var/cache/amilab/asterisk-sid}"
PORT="${AMILAB_ASTERISK_PORT:-15038}"
TLS_PORT="${AMILAB_ASTERISK_TLS_PORT:-15039}"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ETC_SRC="$HERE/etc"
export DEBIAN_FRONTEND=noninteractive
export LC_ALL=C

log() { echo "sandbox: $*" >&2; }

# Symlinks followed while resolving one path (Linux's own limit, ELOOP).
MAX_LINK_HOPS=40

in_root() {
    # in_root /abs/path: the host path of /abs/path as seen inside $ROOT.
    # Symlinks are followed with $ROOT as "/" (an absolute target restarts at
    # $ROOT, ".." stops at $ROOT), so the result never leaves $ROOT; missing
    # components are kept as they are (mkdir -p creates them, none a link).
    local rest="${1#/}" out="" part target hops=0
    while [ -n "$rest" ]; do
        part="${rest%%/*}"
        if [ "$part" = "$rest" ]; then rest=""; else rest="${rest#*/}"; fi
        case "$part" in
            "" | .) continue ;;
            ..) out="${out%/*}"; continue ;;
        esac
        if [ -L "$ROOT$out/$part" ]; then
            hops=$((hops + 1))
            [ "$hops" -le "$MAX_LINK_HOPS" ] || { log "too many symlinks in $1 under $ROOT"; exit 1; }
            target="$(readlink "$ROOT$out/$part")"
            case "$target" in /*) out="" ;; esac
            rest="${target#/}${rest:+/$rest}"
        else
            out="$out/$part"
        fi
    done
    printf '%s\n' "$ROOT$out"
}

log_file() { in_root /var/log/amilab-asterisk.out; }
pid_file() { in_root /run/amilab-asterisk.pid; }

unmount_proc() {
    local proc; proc="$(in_root /proc)"
    if [ -d "$proc" ] && mountpoint -q "$proc"; then
        umount "$proc" || umount -l "$proc" || true
    fi
}

build() {
    if [ -f "$(in_root /.amilab-build-complete)" ] && [ -x "$(in_root /usr/sbin/asterisk)" ]; then
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
    # the mirror only when asked for: debootstrap knows its own default
    debootstrap --variant=minbase --include=asterisk sid "$ROOT" ${AMILAB_DEBIAN_MIRROR:+"$AMILAB_DEBIAN_MIRROR"} \
        </dev/null >"$(dirname "$ROOT")/debootstrap-$(basename "$ROOT").log" 2>&1 || {
        log "debootstrap failed, see $(dirname "$ROOT")/debootstrap-$(basename "$ROOT").log"
        tail -20 "$(dirname "$ROOT")/debootstrap-$(basename "$ROOT").log" >&2
        exit 1
    }
    [ -x "$(in_root /usr/sbin/asterisk)" ] || { log "asterisk missing after debootstrap"; exit 1; }
    chroot "$ROOT" asterisk -V > "$(in_root /.amilab-asterisk-version)"
    date -u +%Y-%m-%dT%H:%M:%SZ > "$(in_root /.amilab-build-complete)"
    log "built: $(cat "$(in_root /.amilab-asterisk-version)")"
}

make_cert() {
    local keys; keys="$(in_root /etc/asterisk/keys)"
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
    # every directory this script or asterisk writes to, resolved inside the
    # chroot (var/run links to /run on Debian; both names are kept in case not)
    local d
    for d in /etc/asterisk/keys /var/lib/asterisk/moh-amilab /var/log/asterisk \
        /var/spool/asterisk /var/run/asterisk /run/asterisk; do
        mkdir -p "$(in_root "$d")"
    done
}

install_config() {
    make_dirs
    local etc moh sounds
    etc="$(in_root /etc/asterisk)"
    cp -f "$ETC_SRC"/*.conf "$etc/"
    # pbx_config warns "users.conf is deprecated" as long as the file exists
    rm -f "$etc/users.conf"
    # honour port overrides (the repo config has the defaults)
    sed -i -e "s/^port *=.*/port = $PORT/" \
           -e "s/^tlsbindaddr *=.*/tlsbindaddr = 127.0.0.1:$TLS_PORT/" \
        "$etc/manager.conf"
    make_cert
    # a one-file music-on-hold class (the Debian chroot ships no MOH files)
    moh="$(in_root /var/lib/asterisk/moh-amilab)"
    sounds="$(in_root /usr/share/asterisk/sounds)"
    if [ -z "$(ls -A "$moh")" ]; then
        cp "$sounds/en_US_f_Allison/beep.gsm" "$moh/" 2>/dev/null ||
            cp "$(find "$sounds" -name '*.gsm' | head -1)" "$moh/" || true
    fi
    chroot "$ROOT" chown -R asterisk:asterisk \
        /var/lib/asterisk /var/log/asterisk /var/spool/asterisk /run/asterisk /etc/asterisk
}

ami_greeting() {
    # print the AMI greeting line; fail if nothing answers
    timeout 3 bash -c "exec 3<>/dev/tcp/127.0.0.1/$PORT && IFS= read -r line <&3 && printf '%s\n' \"\${line%\$'\r'}\"" 2>/dev/null
}

is_running() {
    local pidfile; pidfile="$(pid_file)"
    [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null
}

start() {
    build
    if is_running && ami_greeting >/dev/null; then
        log "already running (pid $(cat "$(pid_file)"))"
        status
        return 0
    fi
    if is_running; then
        log "stale asterisk process, stopping first"
        stop
    fi
    install_config
    local proc logfile pidfile
    proc="$(in_root /proc)" logfile="$(log_file)" pidfile="$(pid_file)"
    mountpoint -q "$proc" || mount -t proc proc "$proc"
    rm -f "$(in_root /run/asterisk/asterisk.ctl)"
    : > "$logfile"
    setsid chroot "$ROOT" asterisk -f -U asterisk -G asterisk </dev/null >>"$logfile" 2>&1 &
    echo $! > "$pidfile"
    local i greeting=""
    for i in $(seq 1 120); do
        if greeting="$(ami_greeting)" && [ -n "$greeting" ]; then
            break
        fi
        if ! is_running; then
            log "asterisk exited during startup; log:"
            tail -40 "$logfile" >&2
            exit 1
        fi
        sleep 0.5
    done
    if [ -z "$greeting" ]; then
        log "AMI did not answer on 127.0.0.1:$PORT within 60s; log:"
        tail -40 "$logfile" >&2
        exit 1
    fi
    # wait until fully booted so the dialplan/pjsip/queues are there
    for i in $(seq 1 40); do
        chroot "$ROOT" asterisk -rx 'core waitfullybooted' >/dev/null 2>&1 && break
        sleep 0.5
    done
    echo "$greeting"
    log "started (pid $(cat "$pidfile")); AMI 127.0.0.1:$PORT, TLS 127.0.0.1:$TLS_PORT; log $logfile"
}

stop() {
    if [ ! -d "$(in_root /proc)" ]; then
        log "no chroot at $ROOT"; return 0
    fi
    if is_running; then
        local pid; pid="$(cat "$(pid_file)")"
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
    rm -f "$(pid_file)"
    unmount_proc
}

status() {
    local greeting
    if greeting="$(ami_greeting)" && [ -n "$greeting" ]; then
        echo "running: $greeting"
        echo "ami: 127.0.0.1:$PORT"
        echo "ami-tls: 127.0.0.1:$TLS_PORT"
        echo "tls-cert: $(in_root /etc/asterisk/keys/amilab.crt)"
        echo "root: $ROOT"
        local version; version="$(in_root /.amilab-asterisk-version)"
        [ -f "$version" ] && echo "version: $(cat "$version")"
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
