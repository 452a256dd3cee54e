"""Starting the benchmark's processes, waiting until they are ready (never a fixed sleep), and stopping them.

A process is ready when it printed `listening on HOST:PORT` on stdout (shard-sidecar serve/peer, relay.py); the
sidecar is then asked `GET /ready` until every layer is served, llama-server `GET /health` until it loaded its model.
Every process started is recorded in a pid file, so a run that was killed before its teardown has its processes
ended by the next run (`kill_recorded`), and `ProcessGroup.stop_all` ends them on any exit (finally, Ctrl-C).
"""
import datetime
import fcntl
import json
import os
import re
import signal
import subprocess
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

LOCK_PATH = Path("/run/lock" if os.access("/run/lock", os.W_OK) else "/tmp") / "shard-bench-cluster.lock"

LISTENING = re.compile(r"listening on (\S+):(\d+)")


class StartError(RuntimeError):
    pass


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def process_cpu_seconds(pid):
    """User + system CPU time of `pid` (all its threads) so far; 0 once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
    except (OSError, IndexError, ValueError):
        return 0.0


def machine_busy_seconds():
    """CPU time all cores spent running anything (user, nice, system, irq, softirq) since boot."""
    fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq = (int(f) for f in fields[:7])
    return (user + nice + system + irq + softirq) / CLOCK_TICKS


def _start_time(pid):
    """The kernel's start time of `pid` (to tell a recorded process from a later one with the same pid)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def kill_recorded(pid_file, log=print):
    """Ends the processes an earlier, aborted run recorded in `pid_file` (only those still the same process)."""
    path = Path(pid_file)
    if not path.exists():
        return
    for line in path.read_text().splitlines():
        try:
            pid, start = line.split()
            pid = int(pid)
        except ValueError:
            continue
        if _start_time(pid) == start:
            log(f"ending process {pid} left by an earlier run")
            try:
                os.killpg(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
    path.unlink()


class RunLock:
    """One cluster benchmark at a time on a machine: the namespaces are machine-wide (a second run's cleanup would
    end the first one's processes) and two runs on the same cores would disturb each other's figures. The lock is
    an flock, so it goes with the process that held it, however that ends."""

    def __init__(self, path=LOCK_PATH):
        self.path = Path(path)
        self.file = None

    def acquire(self, what):
        """True, or False when another run holds the lock (`holder` then says which)."""
        handle = open(self.path, "a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            self.holder = handle.read().strip() or "unknown"
            handle.close()
            return False
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}, {what}, since {datetime.datetime.now():%Y-%m-%d %H:%M:%S}\n")
        handle.flush()
        self.file = handle
        return True

    def release(self):
        if self.file:
            self.file.close()
            self.file = None


class Process:
    def __init__(self, name, argv, log_path):
        self.name = name
        self.argv = argv
        self.log_path = log_path
        self.address = None
        self._listening = threading.Event()
        self._log = open(log_path, "w")
        self._log.write("$ " + " ".join(argv) + "\n")
        self._log.flush()
        # Own session: a Ctrl-C at the terminal reaches only the harness, which then stops these in order.
        self.popen = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=self._log, stdin=subprocess.DEVNULL,
                                      start_new_session=True, text=True, bufsize=1)
        self._reader = threading.Thread(target=self._read_stdout, daemon=True)
        self._reader.start()

    def _read_stdout(self):
        for line in self.popen.stdout:
            self._log.write(line)
            self._log.flush()
            match = LISTENING.search(line)
            if match and not self._listening.is_set():
                self.address = (match.group(1), int(match.group(2)))
                self._listening.set()

    def wait_listening(self, timeout):
        deadline = time.monotonic() + timeout
        while not self._listening.wait(0.05):
            if self.popen.poll() is not None:
                raise StartError(f"{self.name} exited with status {self.popen.returncode} before listening:\n"
                                 + self.log_tail())
            if time.monotonic() > deadline:
                raise StartError(f"{self.name} did not print `listening on` within {timeout:.0f} s:\n"
                                 + self.log_tail())
        return self.address

    def log_tail(self, lines=15):
        try:
            return "".join(Path(self.log_path).read_text(errors="replace").splitlines(True)[-lines:])
        except OSError:
            return ""

    def alive(self):
        return self.popen.poll() is None

    def stop(self, grace=5.0):
        if self.popen.poll() is None:
            try:
                os.killpg(self.popen.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.popen.wait(grace)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(self.popen.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.popen.wait()
        self._reader.join(1)
        self._log.close()


def http_get(url, timeout=2.0):
    """(status, body) of a GET; status 0 when nothing answered."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, response.read().decode(errors="replace")
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(errors="replace")
    except (urllib.error.URLError, OSError):
        return 0, ""


def wait_http(url, process, timeout, what):
    """Polls `url` until it answers 200; fails early when `process` exits."""
    deadline = time.monotonic() + timeout
    status, body = 0, ""
    while time.monotonic() < deadline:
        status, body = http_get(url)
        if status == 200:
            return body
        if not process.alive():
            raise StartError(f"{process.name} exited with status {process.popen.returncode} while waiting for "
                             f"{what}:\n" + process.log_tail())
        time.sleep(0.05)   # polling interval, not a guess at how long startup takes
    raise StartError(f"{what}: {url} still answers {status} {body[:200]} after {timeout:.0f} s:\n"
                     + process.log_tail())


class ProcessGroup:
    """The processes of one configuration; `stop_all` ends them in reverse order of starting."""

    def __init__(self, log_dir, pid_file):
        self.log_dir = Path(log_dir)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.pid_file = Path(pid_file)
        self.processes = []

    def start(self, name, argv, listening_timeout=120):
        """Starts `argv` and waits for its `listening on` line (listening_timeout None: does not wait)."""
        process = Process(name, argv, self.log_dir / f"{name}.log")
        self.processes.append(process)
        with open(self.pid_file, "a") as f:
            f.write(f"{process.popen.pid} {_start_time(process.popen.pid)}\n")
        if listening_timeout is not None:
            process.wait_listening(listening_timeout)
        return process

    def cpu_seconds(self):
        return sum(process_cpu_seconds(p.popen.pid) for p in self.processes)

    def check_alive(self):
        for process in self.processes:
            if not process.alive():
                raise StartError(f"{process.name} exited with status {process.popen.returncode}:\n"
                                 + process.log_tail())

    def stop_all(self):
        for process in reversed(self.processes):
            process.stop()
        self.processes = []
        try:
            self.pid_file.unlink()
        except FileNotFoundError:
            pass


def sidecar_ready(base_url, process, timeout=120):
    body = wait_http(base_url + "/ready", process, timeout, "sidecar readiness (/ready)")
    try:
        return json.loads(body)
    except ValueError:
        return {}
