import pytest
from django.core.exceptions import ImproperlyConfigured

from afspraak.environment import (
    env_bool,
    env_choice,
    env_int,
    env_list,
    env_ports,
    env_secret,
    env_str,
)


def test_unset_and_empty_values_give_the_default(monkeypatch):
    monkeypatch.delenv("AFSPRAAK_T", raising=False)
    assert env_str("AFSPRAAK_T", "d") == "d"
    monkeypatch.setenv("AFSPRAAK_T", "")
    assert env_str("AFSPRAAK_T", "d") == "d"
    assert env_bool("AFSPRAAK_T", True) is True
    assert env_int("AFSPRAAK_T", 7) == 7
    assert env_list("AFSPRAAK_T", ["a"]) == ["a"]
    assert env_ports("AFSPRAAK_T", [443, 80]) == [443, 80]
    assert env_choice("AFSPRAAK_T", "x", ("x", "y")) == "x"


@pytest.mark.parametrize(("raw", "expected"), [("1", True), ("Yes", True), ("off", False)])
def test_booleans_are_read_in_their_usual_spellings(monkeypatch, raw, expected):
    monkeypatch.setenv("AFSPRAAK_T", raw)
    assert env_bool("AFSPRAAK_T", not expected) is expected


@pytest.mark.parametrize(
    ("reader", "raw", "message"),
    [
        (lambda: env_bool("AFSPRAAK_T", False), "maybe", "must be a boolean"),
        (lambda: env_int("AFSPRAAK_T", 1), "ten", "must be an integer"),
        (lambda: env_int("AFSPRAAK_T", 1, minimum=5), "3", "at least 5"),
        (lambda: env_choice("AFSPRAAK_T", "x", ("x", "y")), "z", "must be one of x, y"),
        (lambda: env_ports("AFSPRAAK_T", [443]), "443,https", "ports between 1 and 65535"),
        (lambda: env_ports("AFSPRAAK_T", [443]), "443,70000", "not '70000'"),
    ],
)
def test_bad_values_fail_fast_naming_the_variable(monkeypatch, reader, raw, message):
    monkeypatch.setenv("AFSPRAAK_T", raw)
    with pytest.raises(ImproperlyConfigured, match=message) as caught:
        reader()
    assert "AFSPRAAK_T" in str(caught.value)


def test_secret_is_read_from_the_file_named_by_name_file(monkeypatch, tmp_path):
    secret_file = tmp_path / "secret"
    secret_file.write_text("s3cret\n")
    monkeypatch.setenv("AFSPRAAK_T_FILE", str(secret_file))
    assert env_secret("AFSPRAAK_T") == "s3cret"
    monkeypatch.setenv("AFSPRAAK_T_FILE", str(tmp_path / "missing"))
    with pytest.raises(ImproperlyConfigured, match="AFSPRAAK_T_FILE"):
        env_secret("AFSPRAAK_T")


def test_ports_are_read_as_a_comma_separated_list(monkeypatch):
    monkeypatch.setenv("AFSPRAAK_T", "443, 80,22")
    assert env_ports("AFSPRAAK_T", []) == [443, 80, 22]
