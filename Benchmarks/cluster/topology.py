"""Where the benchmark's processes run: one network namespace per role, joined by veth pairs.

Each role (the sidecar, each peer, llama-server) gets a namespace `shb-<role>` with one end of a veth pair; the other
ends are enslaved to a bridge `shb-br` in the root namespace, which also holds the load generator (10.231.77.1).
So every byte between the sidecar and a peer crosses two veth pairs and the bridge, as between machines, instead of
loopback. No netem is available: link latency is added by relay.py where a figure needs it.

`Loopback` is the fallback (BENCH_NETNS=0, or `ip netns` not permitted): every role on 127.0.0.1.
Teardown kills whatever still runs in the namespaces and deletes them, the veths and the bridge; `cleanup_stale`
does the same for an earlier run that was killed before its own teardown.
"""
import os
import subprocess

PREFIX = "shb-"
BRIDGE = "shb-br"
SUBNET = os.environ.get("BENCH_SUBNET", "10.231.77")   # a /24; .1 is the root namespace (the load generator)
ROLES = ["sc", "p0", "p1", "p2", "ls"]                  # sidecar, peers 0-2, llama-server
ADDRESS = {"sc": 10, "p0": 20, "p1": 21, "p2": 22, "ls": 30}


def _ip(*args, check=True):
    return subprocess.run(["ip", *args], capture_output=True, text=True, check=check)


def _our_namespaces():
    out = _ip("netns", "list", check=False).stdout
    return [line.split()[0] for line in out.splitlines() if line.startswith(PREFIX)]


def _our_links():
    out = _ip("-o", "link", "show", check=False).stdout
    names = []
    for line in out.splitlines():
        parts = line.split(":")
        if len(parts) > 1:
            name = parts[1].strip().split("@")[0]
            if name.startswith(PREFIX):
                names.append(name)
    return names


def cleanup_stale(log=print):
    """Kills the processes left in `shb-*` namespaces and deletes those namespaces and `shb-*` links."""
    namespaces, links = _our_namespaces(), _our_links()
    if namespaces or links:
        log(f"removing {len(namespaces)} namespace(s) and {len(links)} link(s) left by an earlier run")
    for ns in namespaces:
        pids = _ip("netns", "pids", ns, check=False).stdout.split()
        for pid in pids:
            try:
                os.kill(int(pid), 9)
            except (ProcessLookupError, ValueError):
                pass
        _ip("netns", "delete", ns, check=False)
    for link in _our_links():   # the bridge, and host ends whose namespace is gone (normally deleted with it)
        _ip("link", "delete", link, check=False)


def netns_permitted():
    """(True, "") when this process may create namespaces and links, else (False, why)."""
    probe = PREFIX + "probe"
    try:
        result = _ip("netns", "add", probe, check=False)
    except FileNotFoundError:
        return False, "the `ip` command is missing (iproute2)"
    if result.returncode != 0:
        return False, f"`ip netns add` failed: {result.stderr.strip()}"
    try:
        veth = _ip("link", "add", PREFIX + "probe0", "type", "veth", "peer", "name", PREFIX + "probe1",
                   check=False)
        if veth.returncode != 0:
            return False, f"`ip link add type veth` failed: {veth.stderr.strip()}"
        _ip("link", "delete", PREFIX + "probe0", check=False)
        bridge = _ip("link", "add", PREFIX + "probebr", "type", "bridge", check=False)
        if bridge.returncode != 0:
            return False, f"`ip link add type bridge` failed: {bridge.stderr.strip()}"
        _ip("link", "delete", PREFIX + "probebr", check=False)
        return True, ""
    finally:
        _ip("netns", "delete", probe, check=False)


class Loopback:
    """Every role on 127.0.0.1 of the root namespace."""
    name = "loopback (no namespaces)"
    client_host = "127.0.0.1"

    def host(self, role):
        return "127.0.0.1"

    def wrap(self, role, argv):
        return argv

    def setup(self):
        pass

    def teardown(self):
        pass


class Namespaces:
    name = "network namespaces joined by veth pairs and a bridge"
    client_host = f"{SUBNET}.1"

    def __init__(self, log=print):
        self.log = log
        self.created = False

    def host(self, role):
        return f"{SUBNET}.{ADDRESS[role]}"

    def wrap(self, role, argv):
        return ["ip", "netns", "exec", PREFIX + role] + argv

    def setup(self):
        cleanup_stale(self.log)
        self.created = True
        _ip("link", "add", BRIDGE, "type", "bridge")
        _ip("addr", "add", f"{SUBNET}.1/24", "dev", BRIDGE)
        _ip("link", "set", BRIDGE, "up")
        for role in ROLES:
            ns, outside, inside = PREFIX + role, PREFIX + role, PREFIX + role + "-i"
            _ip("netns", "add", ns)
            _ip("link", "add", outside, "type", "veth", "peer", "name", inside)
            _ip("link", "set", inside, "netns", ns)
            _ip("link", "set", outside, "master", BRIDGE)
            _ip("link", "set", outside, "up")
            _ip("-n", ns, "addr", "add", f"{self.host(role)}/24", "dev", inside)
            _ip("-n", ns, "link", "set", inside, "up")
            _ip("-n", ns, "link", "set", "lo", "up")

    def teardown(self):
        if self.created:
            cleanup_stale(lambda _: None)
            self.created = False
