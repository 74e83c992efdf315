"""Log in from a separate OS process: one "server worker" of the cross-process lockout test.

Run as ``python -m afspraak.accounts.tests.login_worker --email E --wrong N --right M``
with ``AFSPRAAK_DB_NAME`` naming an SQLite database file that other processes share.
It starts Django (and creates the account with ``--create-user``), prints ``ready``,
waits for a line on its standard input, then posts the login form ``N`` times with a
wrong password and ``M`` times with the right one, through Django's test client as a
request from ``--address``, and prints the status codes as JSON. Waiting lets the test
start workers together and still decide when each one logs in.
"""

import argparse
import json
import os
import sys

import django

WRONG_PASSWORD = "not the password at all, sorry"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--email", required=True)
    parser.add_argument("--wrong", type=int, default=0, help="attempts with a wrong password")
    parser.add_argument("--right", type=int, default=0, help="attempts with the right password")
    parser.add_argument("--address", default="127.0.0.1")
    parser.add_argument("--create-user", action="store_true", help="first create the account")
    args = parser.parse_args()

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "afspraak.settings")
    django.setup()
    from django.test import Client
    from django.test.utils import override_settings, setup_test_environment

    from afspraak.testing.factories import DEFAULT_PASSWORD, UserFactory

    setup_test_environment()
    # The same fast hasher as the test run that copied the database.
    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
        if args.create_user:
            UserFactory.create(email=args.email)
        client = Client(REMOTE_ADDR=args.address, HTTP_USER_AGENT=f"worker {os.getpid()}")
        print("ready", flush=True)
        sys.stdin.readline()
        passwords = [WRONG_PASSWORD] * args.wrong + [DEFAULT_PASSWORD] * args.right
        statuses = [
            client.post(
                "/accounts/login/", {"login": args.email, "password": password}, secure=True
            ).status_code
            for password in passwords
        ]
    print(json.dumps({"statuses": statuses}), flush=True)


if __name__ == "__main__":
    main()
