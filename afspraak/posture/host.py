"""Checks of the machine: listening sockets, the master key file, the nftables ruleset (N1)."""

import ipaddress
import os
import re
import shutil
import stat
import subprocess
from pathlib import Path

from django.conf import settings

from afspraak.posture.results import Result, Target, failed, not_applicable, passed

PROC = Path("/proc")
PROC_TCP = (PROC / "net" / "tcp", PROC / "net" / "tcp6")
_LISTEN = "0A"
TABLE = ("inet", "afspraak")
_SET_ELEMENTS = re.compile(r"^\s*elements = \{[^}]*\}\n", re.MULTILINE)
_NFT_TIMEOUT_SECONDS = 20


def _address(hex_address: str) -> str:
    """Decode /proc/net/tcp's address: 32-bit words in host (little-endian) byte order."""
    raw = bytes.fromhex(hex_address)
    words = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
    return str(ipaddress.ip_address(words))


def listening_sockets(
    paths: tuple[Path, ...] = PROC_TCP, inodes: frozenset[int] | None = None
) -> list[tuple[str, int]]:
    """Return the (address, port) of every listening TCP socket, or of those in ``inodes``."""
    found = []
    for path in paths:
        try:
            lines = path.read_text().splitlines()[1:]
        except FileNotFoundError:
            # A kernel without IPv6 has no tcp6 table.
            continue
        for line in lines:
            fields = line.split()
            if len(fields) < 4 or fields[3] != _LISTEN:
                continue
            if inodes is not None and (len(fields) < 10 or int(fields[9]) not in inodes):
                continue
            address, port = fields[1].split(":")
            found.append((_address(address), int(port, 16)))
    return sorted(set(found))


def _parent_of(stat_line: str) -> int:
    # /proc/PID/stat: "pid (comm) state ppid ..."; comm may hold spaces and parentheses.
    return int(stat_line[stat_line.rindex(")") + 2 :].split()[1])


def process_tree(roots: tuple[int, ...], proc: Path = PROC) -> set[int]:
    """Return the pids of ``roots`` and of every process descending from them."""
    children: dict[int, list[int]] = {}
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            parent = _parent_of((entry / "stat").read_text())
        except (OSError, ValueError, IndexError):
            # The process ended while we looked.
            continue
        children.setdefault(parent, []).append(int(entry.name))
    tree, pending = set(), list(roots)
    while pending:
        pid = pending.pop()
        if pid not in tree:
            tree.add(pid)
            pending.extend(children.get(pid, []))
    return tree


def socket_inodes(pids: set[int], proc: Path = PROC) -> tuple[frozenset[int], list[int]]:
    """Return the inodes of the sockets the processes ``pids`` hold open, and who hid theirs."""
    inodes, hidden = set(), []
    for pid in sorted(pids):
        try:
            descriptors = list((proc / str(pid) / "fd").iterdir())
        except FileNotFoundError:
            # The process ended while we looked.
            continue
        except OSError:
            # Another user's process, to an auditor without the right to look.
            hidden.append(pid)
            continue
        for descriptor in descriptors:
            try:
                link = os.readlink(descriptor)
            except OSError:
                continue
            if link.startswith("socket:["):
                inodes.add(int(link[len("socket:[") : -1]))
    return frozenset(inodes), hidden


def check_listening_sockets(target: Target, paths: tuple[Path, ...] = PROC_TCP) -> Result:
    """Fail when a port outside AFSPRAAK_AUDIT_ALLOWED_PORTS listens beyond loopback.

    With ``target.processes`` only the sockets of those processes and their descendants
    count: a host shared with services that are not the installation's.
    """
    allowed = set(settings.AFSPRAAK_AUDIT_ALLOWED_PORTS)
    scope = "on this host"
    inodes = None
    if target.processes:
        missing = [pid for pid in target.processes if not (PROC / str(pid)).is_dir()]
        if missing:
            return failed(f"no process {', '.join(map(str, missing))} runs here to audit")
        tree = process_tree(target.processes)
        inodes, hidden = socket_inodes(tree)
        if hidden:
            # Fail closed: a socket the audit cannot see is not a socket it can pass.
            return failed(
                f"cannot read the open files of processes {', '.join(map(str, hidden))}: "
                "run the audit as root or as their user"
            )
        scope = (
            f"of processes {', '.join(map(str, target.processes))} and their "
            f"{len(tree) - len(target.processes)} descendants"
        )
    listening = listening_sockets(paths, inodes)
    exposed = [(a, p) for a, p in listening if not ipaddress.ip_address(a).is_loopback]
    unexpected = [
        f"{a}:{p}" if ":" not in a else f"[{a}]:{p}" for a, p in exposed if p not in allowed
    ]
    if unexpected:
        return failed(
            f"sockets {scope} listen beyond loopback on ports not in "
            f"AFSPRAAK_AUDIT_ALLOWED_PORTS "
            f"({', '.join(map(str, sorted(allowed))) or 'none'}): {', '.join(unexpected)}"
        )
    ports = sorted({p for _, p in exposed})
    return passed(
        f"{len(listening)} sockets {scope} listen, beyond loopback only on allowed ports "
        f"({', '.join(map(str, ports)) or 'none'})"
    )


def _private_problems(path: Path, kind: str, mask: int) -> list[str]:
    try:
        status = path.stat()
    except OSError as error:
        return [f"{kind} {path} cannot be read: {error.strerror}"]
    problems = []
    mode = stat.S_IMODE(status.st_mode)
    if mode & mask:
        problems.append(f"{kind} {path} is open to others (mode {mode:04o})")
    if status.st_uid != os.geteuid():
        problems.append(
            f"{kind} {path} belongs to uid {status.st_uid}, not to the server's uid {os.geteuid()}"
        )
    return problems


def check_master_key_file(target: Target) -> Result:
    """Fail unless the master keyset file is 0600 (or stricter) in a 0700 directory, ours."""
    if settings.AFSPRAAK_MASTER_KEY_URI:
        return not_applicable("the master key is a KMS key (AFSPRAAK_MASTER_KEY_URI), no file")
    path = Path(settings.AFSPRAAK_MASTER_KEYSET_FILE)
    problems = _private_problems(path, "master keyset file", stat.S_IRWXG | stat.S_IRWXO)
    problems += _private_problems(path.parent, "its directory", stat.S_IRWXG | stat.S_IRWXO)
    if problems:
        return failed("; ".join(problems) + f": run `chmod 600 {path}; chmod 700 {path.parent}`")
    return passed(f"{path} is readable by its owner only, in a directory of the owner's only")


def _run(argv: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run(  # noqa: S603 (fixed programs, our own arguments)
        argv, capture_output=True, text=True, timeout=_NFT_TIMEOUT_SECONDS, check=False
    )


def _comparable(listing: str) -> str:
    # The addresses in the named sets are each site's own (admin range, cluster nodes).
    return _SET_ELEMENTS.sub("", listing).strip()


def reference_listing(ruleset: Path) -> str:
    """Return ``nft list table inet afspraak`` of the ruleset loaded into a private namespace."""
    # A private network namespace of its own: the reference never touches the host's rules.
    script = 'nft -f "$1" && nft list table inet afspraak'
    loaded = _run(["unshare", "--net", "--", "sh", "-c", script, "sh", str(ruleset)])
    if loaded.returncode != 0:
        raise RuntimeError(f"{ruleset} does not load: {loaded.stderr.strip()}")
    return loaded.stdout


def check_nftables(target: Target) -> Result:
    """Fail when the host's ``inet afspraak`` table differs from deploy's ruleset."""
    if shutil.which("nft") is None:
        return target.missing("nft is not installed, so no firewall ruleset can be compared")
    host = _run(["nft", "list", "table", *TABLE])
    if host.returncode != 0:
        if "No such file or directory" in host.stderr:
            return target.missing("the host has no `inet afspraak` nftables table")
        return failed(f"`nft list table inet afspraak` failed: {host.stderr.strip()}")
    ruleset = Path(settings.AFSPRAAK_NFTABLES_RULESET)
    try:
        reference = reference_listing(ruleset)
    except RuntimeError as error:
        return failed(str(error))
    if _comparable(host.stdout) != _comparable(reference):
        return failed(
            f"the host's `inet afspraak` table differs from {ruleset} (compare "
            f"`nft list table inet afspraak` with the file): load it with `nft -f {ruleset}`"
        )
    return passed(f"the host's `inet afspraak` table equals {ruleset} (set addresses aside)")
