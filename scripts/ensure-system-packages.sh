#!/usr/bin/env bash
# Install the Debian/Ubuntu packages a make target needs, when they are missing.
# Usage: scripts/ensure-system-packages.sh run|test
# As root it uses apt-get; otherwise it names the command to run and fails.
set -euo pipefail

want=()
python3 -c 'import ensurepip, venv' 2>/dev/null || want+=(python3-venv)
# The slot engine reads IANA time zones through the standard library's zoneinfo.
[ -f /usr/share/zoneinfo/Europe/Amsterdam ] || want+=(tzdata)
# `afspraak security-audit` offers the served endpoint one key-exchange group at a time
# with openssl s_client (Python's ssl module cannot choose the groups).
command -v openssl >/dev/null 2>&1 || want+=(openssl)
if [ "${1:-run}" = test ]; then
    ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || want+=(postgresql)
    [ -x /usr/bin/chromium ] || want+=(chromium)
    command -v runuser >/dev/null 2>&1 || want+=(util-linux)
    # The SIEM sink's tests deliver over RFC 5425 (syslog over TLS) to a real rsyslog.
    [ -x /usr/sbin/rsyslogd ] || want+=(rsyslog)
    ls /usr/lib/*/rsyslog/lmnsd_ossl.so >/dev/null 2>&1 || want+=(rsyslog-openssl)
    # The failover tests keep Patroni's leader lock in a real etcd.
    [ -x /usr/bin/etcd ] || want+=(etcd-server)
    # The cluster tests keep the cache, counters and job queue of the app nodes in Redis.
    [ -x /usr/bin/redis-server ] || want+=(redis-server)
    # The cluster tests put the app nodes behind HAProxy, which terminates TLS.
    [ -x /usr/sbin/haproxy ] || want+=(haproxy)
    # Two HAProxy machines share one address through keepalived (VRRP), whose check of
    # HAProxy is a curl request.
    [ -x /usr/sbin/keepalived ] || want+=(keepalived)
    [ -x /usr/bin/curl ] || want+=(curl)
    # PostgreSQL's backups (WAL archive, PITR, two encrypted repositories) are pgBackRest's.
    command -v pgbackrest >/dev/null 2>&1 || want+=(pgbackrest)
    # The D2 proof runs pgBackRest's backups and time-based expiry days ahead (libfaketime).
    command -v faketime >/dev/null 2>&1 || want+=(faketime)
    # The firewall ruleset's tests check and load it (in a namespace of their own) with nft.
    [ -x /usr/sbin/nft ] || want+=(nftables)
    # The firewall tests join two network namespaces with a veth pair (ip netns, ip link).
    [ -x /usr/sbin/ip ] || [ -x /usr/bin/ip ] || want+=(iproute2)
fi
[ ${#want[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
    echo "Missing system packages: ${want[*]}" >&2
    echo "Install them with: sudo apt-get install -y ${want[*]}" >&2
    exit 1
fi
echo "Installing system packages: ${want[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${want[@]}" >/dev/null
