#!/usr/bin/env bash
# Installs the interop peers the tests and benches/load.sh drive: swaks,
# curl, Python 3 (smtplib), Postfix (smtp-sink, smtp-source, and `smtpd`
# run as a private instance by tests/tests/interop_client_peers.rs, with
# Cyrus SASL: sasl2-bin, libsasl2-modules), Exim, HAProxy (the PROXY
# protocol sender of tests/tests/interop_haproxy.rs), and the Python
# peers aiosmtpd and aiosmtplib in a virtual environment
# under target/ (`target/peers-venv`, or `$CARGO_TARGET_DIR/peers-venv`),
# never system-wide. The tests run aiosmtpd with that environment's
# interpreter.
#
# Exim: Debian's exim4-daemon-light cannot be installed next to Postfix
# (both are the system MTA), so its package is downloaded with
# `apt-get download` and unpacked (`dpkg-deb -x`) under
# `target/peers/exim4`; its shared libraries are installed with apt-get and
# the `Debian-exim` system user it was built for is created. The tests run
# that binary with their own configuration (`exim4 -C`), as root.
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
# swaks needs Net::SSLeay for --tls/--tlsc (a Recommends, which
# --no-install-recommends leaves out).
perl -MNet::SSLeay -e1 >/dev/null 2>&1 || missing+=(libnet-ssleay-perl)
command -v curl >/dev/null 2>&1 || missing+=(curl)
if ! command -v haproxy >/dev/null 2>&1 && [ ! -x /usr/sbin/haproxy ]; then
    missing+=(haproxy)
fi
command -v python3 >/dev/null 2>&1 || missing+=(python3 python3-venv)
if ! command -v smtp-sink >/dev/null 2>&1 && [ ! -x /usr/sbin/smtp-sink ]; then
    missing+=(postfix)
fi
# Cyrus SASL for the private Postfix's AUTH (saslpasswd2, the PLAIN/LOGIN
# and sasldb plugins).
[ -x /usr/sbin/saslpasswd2 ] || missing+=(sasl2-bin)
if command -v dpkg >/dev/null 2>&1; then
    dpkg -s libsasl2-modules >/dev/null 2>&1 || missing+=(libsasl2-modules)
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

target="${CARGO_TARGET_DIR:-target}"

# Exim, unpacked under the target folder (see the header).
exim_dir="$target/peers/exim4"
if [ ! -x "$exim_dir/usr/sbin/exim4" ]; then
    if [ "$(id -u)" -eq 0 ]; then
        echo "install-peers: exim4-daemon-light unpacked into $exim_dir"
        exim_libs=(libdb5.3 libgnutls-dane0 libgnutls30 libidn12 libidn2-0 libnsl2 libpcre2-8-0)
        need=()
        for p in "${exim_libs[@]}"; do
            dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
        done
        if [ "${#need[@]}" -gt 0 ]; then
            apt_install "${need[@]}" \
                || echo "install-peers: WARNING: 'apt-get install ${need[*]}' failed; the Exim tests will fail"
        fi
        tmp="$(mktemp -d)"
        chmod 755 "$tmp"
        download() { (cd "$tmp" && apt-get download -qq exim4-daemon-light >/dev/null 2>&1); }
        # Stale package lists: update once and retry.
        if { download || { apt-get update -qq && download; }; } \
            && mkdir -p "$exim_dir" \
            && dpkg-deb -x "$tmp"/exim4-daemon-light_*.deb "$exim_dir"; then
            # No set-user-ID binary under target/: the tests run it as root.
            chmod u-s "$exim_dir/usr/sbin/exim4"
            getent group Debian-exim >/dev/null || groupadd --system Debian-exim
            getent passwd Debian-exim >/dev/null \
                || useradd --system --gid Debian-exim --home-dir /var/spool/exim4 \
                    --no-create-home --shell /usr/sbin/nologin Debian-exim
        else
            echo "install-peers: WARNING: 'apt-get download exim4-daemon-light' failed; the Exim tests will fail"
        fi
        rm -rf "$tmp"
    else
        echo "install-peers: WARNING: Exim is missing ($exim_dir/usr/sbin/exim4); run 'sudo bash scripts/install-peers.sh'."
        echo "install-peers:   The Exim interop tests fail until then (they run exim4 -C as root)."
    fi
fi

# Python peers: a virtual environment under the target folder.
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
