#!/usr/bin/env bash
# Installs the interop peers the tests and benches/load.sh drive: swaks,
# curl, Python 3 (smtplib), Postfix (smtp-sink, smtp-source) and aiosmtpd.
# Idempotent: installs only what is missing; `apt-get update` runs only
# when a Debian package must be installed. Needs root for apt-get.
set -euo pipefail

missing=()
command -v swaks >/dev/null 2>&1 || missing+=(swaks)
command -v curl >/dev/null 2>&1 || missing+=(curl)
command -v python3 >/dev/null 2>&1 || missing+=(python3 python3-pip)
if ! command -v smtp-sink >/dev/null 2>&1 && [ ! -x /usr/sbin/smtp-sink ]; then
    missing+=(postfix)
fi

if [ "${#missing[@]}" -gt 0 ]; then
    echo "install-peers: apt-get install ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    if [[ " ${missing[*]} " == *" postfix "* ]]; then
        # No questions, no configured mail system (smtp-sink and
        # smtp-source need none).
        echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
        echo "postfix postfix/mailname string localhost" | debconf-set-selections
    fi
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! python3 -c 'import aiosmtpd' >/dev/null 2>&1; then
    echo "install-peers: pip install aiosmtpd"
    python3 -m pip install -q aiosmtpd 2>/dev/null \
        || python3 -m pip install -q --break-system-packages aiosmtpd
fi
