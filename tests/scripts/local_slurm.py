"""A single-node Slurm cluster of a test's own: munged, slurmctld and slurmd on 127.0.0.1,
with a MUNGE key, ports, state, spool and log folders of their own under one temporary folder,
so that it neither needs nor touches a system Slurm. Clients reach it through SLURM_CONF
(`env()`); every daemon runs in the foreground as a child of the test, and `stop()` ends them
by their process ids, the jobs' processes first (a daemon also gets SIGTERM when the test's
process dies without stopping them).

    with LocalSlurm(folder) as slurm:      # raises ClusterError, with the daemons' logs
        subprocess.run(["sbatch", ...], env=slurm.env())

Slurm 22.05 (Debian 12's slurm-wlm) as root: proctrack/linuxproc and task/none need no
cgroups (containers often have none to give), select/cons_tres hands out the CPUs, and the
node is declared as `slurmd -C` reads this machine."""
from __future__ import annotations

import ctypes
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

DAEMONS = ("munged", "slurmctld", "slurmd")
CLIENTS = ("sbatch", "squeue", "scontrol", "scancel", "sinfo")
START_TIMEOUT = 30    # seconds for the node to come up idle
STOP_TIMEOUT = 10     # seconds a daemon gets between SIGTERM and SIGKILL
DRAIN_TIMEOUT = 15    # seconds the jobs get to end once cancelled


class ClusterError(Exception):
    pass


def missing_tools() -> list[str]:
    return [t for t in (*DAEMONS, *CLIENTS, "munge") if shutil.which(t) is None]


def _end_with_the_test() -> None:
    """In a daemon, before it starts: SIGTERM when the test's process ends, however it ends
    (CTest's timeout kills it outright, and no stop() runs then). PR_SET_PDEATHSIG = 1."""
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LocalSlurm:
    def __init__(self, folder: Path):
        self.dir = Path(folder)
        self.conf = self.dir / "slurm.conf"
        self.socket = self.dir / "munge-run" / "munge.socket"
        self.procs: dict[str, subprocess.Popen] = {}
        self.node = ""

    # ---- start ----------------------------------------------------------------------------
    def __enter__(self) -> "LocalSlurm":
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def env(self) -> dict[str, str]:
        return dict(os.environ, SLURM_CONF=str(self.conf))

    def start(self) -> None:
        if missing_tools():
            raise ClusterError(f"not installed: {', '.join(missing_tools())} (scripts/deps.sh "
                               f"installs Debian's slurm-wlm and munge)")
        # munged refuses a socket in a folder others cannot traverse, and a key others can read.
        self.dir.mkdir(parents=True, exist_ok=True)
        self.dir.chmod(0o711)
        closed = [str(p) for p in self.dir.parents if not p.stat().st_mode & 0o001]
        if closed:
            raise ClusterError(f"munged needs a socket folder everyone can reach; not so: {closed[0]}")
        for sub, mode in (("munge-key", 0o700), ("munge-run", 0o755), ("state", 0o700),
                          ("spool", 0o700), ("log", 0o700)):
            (self.dir / sub).mkdir(mode=mode, exist_ok=True)
            (self.dir / sub).chmod(mode)
        key = self.dir / "munge-key" / "munge.key"
        key.write_bytes(os.urandom(1024))
        key.chmod(0o600)
        self._spawn("munged", ["munged", "--foreground", f"--socket={self.socket}",
                               f"--key-file={key}", f"--log-file={self.dir / 'log' / 'munged.log'}",
                               f"--pid-file={self.dir / 'munge-run' / 'munged.pid'}",
                               f"--seed-file={self.dir / 'munge-key' / 'munged.seed'}"])
        self._until(lambda: self.socket.exists(), "munged created no socket")
        self._write_conf()
        self._spawn("slurmctld", ["slurmctld", "-D", "-f", str(self.conf)])
        self._until(lambda: self._client(["scontrol", "ping"]).stdout.find("UP") >= 0,
                    "slurmctld does not answer scontrol ping")
        self._spawn("slurmd", ["slurmd", "-D", "-f", str(self.conf), "-N", self.node])
        self._until(lambda: self._client(["sinfo", "-h", "-n", self.node, "-o", "%T"]).stdout.strip()
                    == "idle", f"node {self.node} did not come up idle")

    def _write_conf(self) -> None:
        probe = subprocess.run(["slurmd", "-C"], capture_output=True, text=True, timeout=30)
        line = next((l for l in probe.stdout.splitlines() if l.startswith("NodeName=")), None)
        if probe.returncode != 0 or line is None:
            raise ClusterError(f"slurmd -C failed ({probe.returncode}): {probe.stdout}{probe.stderr}")
        # The node as slurmd reads this machine (name, CPUs, sockets, memory), on loopback.
        fields = dict(f.split("=", 1) for f in line.split() if "=" in f)
        fields.pop("UpTime", None)
        self.node = fields.pop("NodeName")
        node_line = " ".join([f"NodeName={self.node}", *(f"{k}={v}" for k, v in fields.items()),
                              "NodeAddr=127.0.0.1", "State=UNKNOWN"])
        d = self.dir
        (d / "plugstack.conf").write_text("")  # none of the system's SPANK plugins
        self.conf.write_text("\n".join([
            "ClusterName=actbench-test",
            f"SlurmctldHost={self.node}(127.0.0.1)",
            f"SlurmctldPort={free_port()}",
            f"SlurmdPort={free_port()}",
            "SlurmUser=root", "SlurmdUser=root",
            "AuthType=auth/munge", "CredType=cred/munge", f"AuthInfo=socket={self.socket}",
            f"StateSaveLocation={d / 'state'}", f"SlurmdSpoolDir={d / 'spool'}",
            f"SlurmctldPidFile={d / 'slurmctld.pid'}", f"SlurmdPidFile={d / 'slurmd.pid'}",
            f"SlurmctldLogFile={d / 'log' / 'slurmctld.log'}", f"SlurmdLogFile={d / 'log' / 'slurmd.log'}",
            "SlurmctldDebug=info", "SlurmdDebug=info",
            f"PlugStackConfig={d / 'plugstack.conf'}",
            "ProctrackType=proctrack/linuxproc", "TaskPlugin=task/none",
            "SelectType=select/cons_tres", "SelectTypeParameters=CR_CPU",
            "SchedulerType=sched/builtin", "MpiDefault=none", "SwitchType=switch/none",
            "JobAcctGatherType=jobacct_gather/none", "AccountingStorageType=accounting_storage/none",
            "JobCompType=jobcomp/none", "MailProg=/bin/true",
            # Ended jobs stay known for 5 minutes (the merge job asks scontrol about its task
            # job); a cancelled job's processes get 2 s between SIGTERM and SIGKILL.
            "MinJobAge=300", "KillWait=2", "ReturnToService=2", "InactiveLimit=0",
            node_line,
            f"PartitionName=test Nodes={self.node} Default=YES MaxTime=10 State=UP",
            ""]))

    def _spawn(self, name: str, cmd: list[str]) -> None:
        out = open(self.dir / "log" / f"{name}.out", "wb")
        try:
            self.procs[name] = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT,
                                                stdin=subprocess.DEVNULL, env=self.env(),
                                                preexec_fn=_end_with_the_test)
        finally:
            out.close()

    def _client(self, cmd: list[str]) -> subprocess.CompletedProcess:
        return subprocess.run(cmd, capture_output=True, text=True, env=self.env(), timeout=20)

    def _until(self, ready, what: str) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            dead = [n for n, p in self.procs.items() if p.poll() is not None]
            if dead:
                raise ClusterError(f"{what}: {', '.join(dead)} exited "
                                   f"({', '.join(str(self.procs[n].returncode) for n in dead)})\n"
                                   + self.logs())
            try:
                if ready():
                    return
            except subprocess.TimeoutExpired:
                pass
            if time.monotonic() > deadline:
                raise ClusterError(f"{what} within {START_TIMEOUT} s\n" + self.logs())
            time.sleep(0.2)

    # ---- what it says -------------------------------------------------------------------------
    def logs(self, lines: int = 40) -> str:
        """The last lines of every daemon's log and output."""
        out = []
        for path in sorted((self.dir / "log").glob("*")):
            text = path.read_text(errors="replace").splitlines()[-lines:]
            out.append(f"---- {path.name} (last {len(text)} lines)\n" + "\n".join(text))
        return "\n".join(out)

    def job(self, job_id: str) -> dict[str, str]:
        """scontrol's fields of a job (kept MinJobAge after it ended)."""
        r = self._client(["scontrol", "show", "job", "-o", job_id])
        return dict(f.split("=", 1) for f in r.stdout.split() if "=" in f)

    # ---- stop ----------------------------------------------------------------------------------
    def stop(self) -> None:
        """Cancels every job and waits for them (bounded), then ends the daemons by their ids,
        SIGTERM then SIGKILL; last, any process still carrying this cluster's SLURM_CONF (a
        job's slurmstepd or task that outlived its slurmd) is killed by its id."""
        if self.procs.get("slurmctld") and self.procs["slurmctld"].poll() is None:
            try:
                self._client(["scancel", f"--user={os.getuid()}"])
                deadline = time.monotonic() + DRAIN_TIMEOUT
                while time.monotonic() < deadline:
                    q = self._client(["squeue", "-h", "-o", "%i"])
                    if q.returncode != 0 or not q.stdout.strip():
                        break
                    time.sleep(0.3)
            except (subprocess.TimeoutExpired, OSError):
                pass
        for name in reversed(DAEMONS):
            p = self.procs.get(name)
            if p is None or p.poll() is not None:
                continue
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(timeout=STOP_TIMEOUT)
        for pid in self._left_behind():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def _left_behind(self) -> list[int]:
        mark = f"SLURM_CONF={self.conf}".encode()
        pids = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit() or int(entry.name) == os.getpid():
                continue
            try:
                environ = (entry / "environ").read_bytes()
            except OSError:
                continue
            if mark in environ.split(b"\0"):
                pids.append(int(entry.name))
        return pids
