#!/usr/bin/env bash
# Installs the interop peers the tests and benches/load.sh drive: swaks,
# curl, Python 3 (smtplib), Postfix (smtp-sink, smtp-source), HAProxy
# (the PROXY protocol sender of tests/tests/interop_haproxy.rs), and the
# Python peers aiosmtpd and aiosmtplib in a virtual environment under
# target/ (`target/peers-venv`, or `$CARGO_TARGET_DIR/peers-venv`), never
# system-wide. The tests run aiosmtpd with that environment's interpreter.
#
# Idempotent: installs only what is missing; `apt-get update` runs only
# when a Debian package must be installed.
#
# Never fails: a developer without root (or without network) gets one clear
# message naming the install step for each missing peer, every test that
# does not need that peer still runs, and each test that does fails with the
# same install step in its message.
set -uo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v swaks >/dev/null 2>&1 || missing+=(swaks)
command -v curl >/dev/null 2>&1 || missing+=(curl)
if ! command -v haproxy >/dev/null 2>&1 && [ ! -x /usr/sbin/haproxy ]; then
    missing+=(haproxy)
fi
command -v python3 >/dev/null 2>&1 || missing+=(python3 python3-venv)
if ! command -v smtp-sink >/dev/null 2>&1 && [ ! -x /usr/sbin/smtp-sink ]; then
    missing+=(postfix)
fi

apt_install() {
    export DEBIAN_FRONTEND=noninteractive
    if [[ " $* " == *" postfix "* ]]; then
        # No questions, no configured mail system (smtp-sink and
        # smtp-source need none).
        echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
        echo "postfix postfix/mailname string localhost" | debconf-set-selections
    fi
    apt-get update -qq && apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

if [ "${#missing[@]}" -gt 0 ]; then
    if [ "$(id -u)" -eq 0 ]; then
        echo "install-peers: apt-get install ${missing[*]}"
        apt_install "${missing[@]}" \
            || echo "install-peers: WARNING: 'apt-get install ${missing[*]}' failed; the interop tests that need them will fail"
    else
        echo "install-peers: WARNING: missing interop peers: ${missing[*]}."
        echo "install-peers:   Install them as root: sudo apt-get install -y ${missing[*]}"
        echo "install-peers:   (or run 'sudo bash scripts/install-peers.sh'). Every other test still runs;"
        echo "install-peers:   the interop tests that need them fail with this install step."
    fi
fi

# Python peers: a virtual environment under the target folder.
target="${CARGO_TARGET_DIR:-target}"
venv="$target/peers-venv"
python_peers=(aiosmtpd aiosmtplib)
if ! command -v python3 >/dev/null 2>&1; then
    echo "install-peers: WARNING: no python3, so no $venv (aiosmtpd); install python3 first."
    exit 0
fi
if [ ! -x "$venv/bin/python" ]; then
    echo "install-peers: python3 -m venv $venv"
    if ! python3 -m venv "$venv" >/dev/null 2>&1; then
        rm -rf "$venv"
        echo "install-peers: WARNING: 'python3 -m venv $venv' failed (Debian: apt-get install -y python3-venv);"
        echo "install-peers:   the aiosmtpd interop tests will fail until it works."
        exit 0
    fi
fi
if ! "$venv/bin/python" -c 'import aiosmtpd, aiosmtplib' >/dev/null 2>&1; then
    echo "install-peers: $venv/bin/pip install ${python_peers[*]}"
    "$venv/bin/python" -m pip install -q "${python_peers[@]}" \
        || echo "install-peers: WARNING: '$venv/bin/pip install ${python_peers[*]}' failed; the aiosmtpd interop tests will fail"
fi
exit 0
