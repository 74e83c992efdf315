"""The loopback cluster under test: headers and TLS through HAProxy, the shared lockout, a
rolling restart of the app nodes under a load of bookings, the shared state in Redis, the
loss of the Redis primary under bookings, and ``afspraak security-audit`` run on a node
(controls D7, D1 in transit, N1).

One test item with a subtest per check: pytest-xdist hands items to its workers one by
one, so separate items would have each worker start a cluster of its own.
"""

import pytest

from afspraak.cluster.tests import (
    access_log,
    audit,
    headers,
    lockout,
    redis_failover,
    rolling,
    state,
)

CHECKS = [
    headers.check_app_pages_carry_the_security_headers_and_no_server_banner,
    headers.check_static_files_carry_the_security_headers_and_a_policy,
    headers.check_haproxys_own_503_carries_the_security_headers,
    headers.check_plain_http_is_redirected_to_the_site,
    headers.check_sslyze_finds_haproxy_compliant_with_mozilla_intermediate,
    headers.check_tls_1_2_offers_only_the_policys_suites,
    access_log.check_haproxys_log_shows_no_url_secret_and_no_query,
    lockout.check_failed_logins_spread_over_both_nodes_lock_the_account_on_both,
    audit.check_security_audit_passes_on_the_cluster,
    audit.check_security_audit_fails_on_a_cluster_process_listening_on_every_address,
    audit.check_the_node_environment_file_holds_the_nodes_settings_for_us_only,
    # Last: these restart every node, then lose the Redis primary.
    rolling.check_rolling_restart_under_bookings_fails_no_request,
    state.check_redis_holds_the_cache_counters_and_the_job_queue,
    redis_failover.check_losing_the_redis_primary_under_bookings_fails_no_request,
]


@pytest.mark.cluster
def test_the_cluster_on_loopback(cluster, subtests):
    for check in CHECKS:
        with subtests.test(check.__name__.removeprefix("check_")):
            check(cluster)
