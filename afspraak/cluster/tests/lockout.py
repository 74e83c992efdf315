"""Check that the brute-force lockout holds across app nodes (one counter for the cluster)."""

from afspraak.cluster.tests.clients import NodeClient

LOGIN = "/accounts/login/"


def check_failed_logins_spread_over_both_nodes_lock_the_account_on_both(cluster):
    first, second = (NodeClient(cluster, node) for node in cluster.nodes.nodes)
    wrong = {"login": cluster.demo_email, "password": "not-the-demo-password"}

    answers = [(first if n % 2 else second).post_form(LOGIN, wrong) for n in range(10)]
    right = {"login": cluster.demo_email, "password": cluster.demo_password}
    on_first, on_second = first.post_form(LOGIN, right), second.post_form(LOGIN, right)

    # Nine failures are told as failures; the tenth, five on each node, locks the account.
    assert [answer.status_code for answer in answers] == [200] * 9 + [429]
    # Each node saw only five failures, so only a shared counter refuses the right password.
    assert on_first.status_code == 429
    assert on_second.status_code == 429
    assert b"locked" in on_second.content
