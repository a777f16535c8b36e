#!/usr/bin/env bash
# Captures real SMTP traffic on loopback into corpus/captured/ (see
# corpus/README.md): starts Postfix smtpd (port 25, documentation names),
# Postfix smtp-sink and aiosmtpd, then runs swaks, curl, smtplib and
# aiosmtplib against each through a recording proxy
# (scripts/capture_traffic.py). Exim or OpenSMTPD, when one is already
# listening (Debian's packages conflict with Postfix, so they are captured
# in a separate run: EXIM_PORT=25 or OPENSMTPD_PORT=25), are added too.
#
#   bash scripts/capture-traffic.sh [OUT_DIR]   # default corpus/captured
#
# Needs root (apt-get, postfix start). The benches do not need any of this:
# they read the committed files.
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-corpus/captured}"
venv="${CARGO_TARGET_DIR:-target}/capvenv"

need=()
command -v swaks >/dev/null || need+=(swaks)
command -v curl >/dev/null || need+=(curl)
[ -n "${EXIM_PORT:-}${OPENSMTPD_PORT:-}" ] || [ -x /usr/sbin/smtp-sink ] || need+=(postfix)
if [ "${#need[@]}" -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${need[@]}" >/dev/null
fi
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
"$venv/bin/python" -c 'import aiosmtpd, aiosmtplib' 2>/dev/null \
  || "$venv/bin/pip" install -q aiosmtpd aiosmtplib

pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  if [ -n "${started_postfix:-}" ]; then postfix stop >/dev/null 2>&1 || true; fi
}
trap cleanup EXIT

servers=()
if [ -n "${EXIM_PORT:-}" ]; then servers+=(--server "exim=$EXIM_PORT"); fi
if [ -n "${OPENSMTPD_PORT:-}" ]; then servers+=(--server "opensmtpd=$OPENSMTPD_PORT"); fi

if [ -z "${EXIM_PORT:-}${OPENSMTPD_PORT:-}" ]; then
  # Postfix smtpd on 127.0.0.1:25, documentation names only.
  postconf -e myhostname=mx.postfix.example mydomain=postfix.example \
    inet_interfaces=loopback-only inet_protocols=ipv4 \
    'mydestination=localhost' 'mynetworks=127.0.0.0/8' \
    'smtpd_banner=$myhostname ESMTP Postfix' \
    'smtpd_recipient_restrictions=permit_mynetworks,reject' \
    'default_transport=discard' 'local_transport=discard' 'relay_transport=discard'
  postfix stop >/dev/null 2>&1 || true
  postfix start >/dev/null 2>&1 && started_postfix=1
  sleep 1
  servers+=(--server postfix=25)

  /usr/sbin/smtp-sink -u nobody -h mx.sink.example 127.0.0.1:2527 100 &
  pids+=($!)
  servers+=(--server smtp-sink=2527)
fi

"$venv/bin/python" - <<'EOF' &
import asyncio, time
from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Sink
c = Controller(Sink(), hostname="127.0.0.1", port=2528,
               server_hostname="mx.aiosmtpd.example", ident="aiosmtpd")
c.start()
time.sleep(600)
EOF
pids+=($!)
servers+=(--server aiosmtpd=2528)
sleep 2

"$venv/bin/python" scripts/capture_traffic.py --out "$out" "${servers[@]}"
