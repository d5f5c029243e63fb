"""A throwaway single-node SLURM (controller, node daemon, private munge) started and stopped by pid.

The Debian packages (slurmctld, slurmd, slurm-client, munge) are installed by ``tests/slurm/install.sh`` when
missing (root only). The configuration templates live in ``tests/slurm/``; they are written to ``/etc/slurm``
(the Snakemake jobstep strips ``SLURM_CONF``, so only the default path works) and removed again on stop.
"""

from __future__ import annotations

import getpass
import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent / "slurm"
ETC = Path("/etc/slurm")
MARKER = "# Throwaway single-node SLURM for tests/test_slurm.py"
TOOLS = ("munged", "slurmctld", "slurmd", "sinfo", "sbatch", "squeue", "scontrol", "scancel")
SEARCH_PATH = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin", "/usr/bin"])
NODE = "aelpnnode"


def tool(name: str) -> str | None:
    return shutil.which(name, path=SEARCH_PATH)


def ensure_installed() -> None:
    """Install the SLURM and munge packages if any tool is missing; fail (never skip) when that is impossible."""
    missing = [t for t in TOOLS if tool(t) is None]
    if not missing:
        return
    if os.geteuid() != 0:
        pytest.fail(
            f"SLURM tools {missing} are missing and the tests are not running as root, so "
            f"tests/slurm/install.sh cannot apt-get install slurmctld slurmd slurm-client munge. "
            f"Install them (Debian: sudo sh tests/slurm/install.sh) or deselect with -m 'not slurm'."
        )
    out = subprocess.run(["sh", str(HERE / "install.sh")], capture_output=True, text=True, timeout=900)
    still = [t for t in TOOLS if tool(t) is None]
    if out.returncode != 0 or still:
        pytest.fail(
            f"could not install the SLURM packages (slurmctld slurmd slurm-client munge) with "
            f"tests/slurm/install.sh (exit {out.returncode}; still missing {still}):\n"
            f"{out.stdout[-3000:]}\n{out.stderr[-3000:]}"
        )


def daemon_env() -> dict[str, str]:
    """The environment without inherited SLURM_* variables (a test run inside a SLURM job must not leak them)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLURM_")}
    env["PATH"] = SEARCH_PATH
    return env


def running(names: tuple[str, ...]) -> dict[str, list[int]]:
    """Pids of processes whose executable name is exactly one of ``names``."""
    found = {}
    for name in names:
        out = subprocess.run(["pgrep", "-x", name], capture_output=True, text=True)
        pids = [int(p) for p in out.stdout.split()]
        if pids:
            found[name] = pids
    return found


@dataclass
class Cluster:
    """One private SLURM instance rooted at ``root``; ``start()`` then ``stop()`` (idempotent)."""

    root: Path
    daemons: dict[str, subprocess.Popen] = field(default_factory=dict)
    written: list[Path] = field(default_factory=list)

    def start(self) -> "Cluster":
        ensure_installed()
        already = running(("slurmctld", "slurmd", "slurmstepd"))
        if already:
            pytest.fail(f"SLURM daemons are already running ({already}); stop them before the SLURM tests")
        for sub in ("munge", "spool", "state", "logs"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        os.chmod(self.root / "munge", 0o700)
        (self.root / "fake-nvidia0").write_text("fake GPU for the throwaway SLURM\n")
        self._start_munge()
        self._write_config()
        conf = str(ETC / "slurm.conf")
        self._spawn("slurmctld", [tool("slurmctld"), "-D", "-i", "-f", conf])
        self._wait("slurmctld answers", lambda: "is UP" in self.run("scontrol", "ping").stdout)
        self._spawn("slurmd", [tool("slurmd"), "-D", "-N", NODE, "-f", conf])
        self._wait("the node is idle", lambda: self.run("sinfo", "-h", "-n", NODE, "-o", "%T").stdout.strip() == "idle")
        return self

    def run(self, name: str, *args: str) -> subprocess.CompletedProcess:
        """Run a SLURM client command against this cluster."""
        return subprocess.run([tool(name), *args], capture_output=True, text=True, env=daemon_env(), timeout=60)

    def jobs(self) -> dict[str, dict[str, str]]:
        """Every job the controller still remembers (finished ones for MinJobAge seconds), by id, as its
        ``scontrol show job`` fields (Partition, TresPerJob, TresPerNode, Comment, JobState, StdOut, ...)."""
        out = self.run("scontrol", "-o", "show", "job")
        jobs = {}
        for line in out.stdout.splitlines():
            fields = dict(item.split("=", 1) for item in line.split() if "=" in item)
            if "JobId" in fields:
                jobs[fields["JobId"]] = fields
        return jobs

    def logs(self) -> str:
        """The tails of the daemon logs, for failure messages."""
        parts = []
        for name in ("munged", "slurmctld", "slurmd"):
            logs = [self.root / "logs" / f"{name}.log", self.root / "logs" / f"{name}.stdout.log"]
            log = next((p for p in logs if p.is_file() and p.stat().st_size), None)
            if log is not None:
                parts.append(f"--- {log}\n" + "\n".join(log.read_text(errors="replace").splitlines()[-15:]))
        return "\n".join(parts)

    def stop(self) -> None:
        """Cancel every job, stop the daemons by pid, remove the /etc/slurm files this instance wrote."""
        if "slurmctld" in self.daemons and self.daemons["slurmctld"].poll() is None:
            self.run("scancel", "--full", "-u", getpass.getuser())
            self._wait("jobs are gone", self._no_active_jobs, timeout=60, fail=False)
        for name in ("slurmd", "slurmctld", "munged"):
            proc = self.daemons.pop(name, None)
            if proc is not None:
                _terminate(proc)
        if not _wait_gone("slurmstepd", timeout=10):
            for pid in running(("slurmstepd",)).get("slurmstepd", []):
                os.kill(pid, signal.SIGKILL)
            _wait_gone("slurmstepd", timeout=10)
        for path in self.written:
            path.unlink(missing_ok=True)
        self.written.clear()

    def _no_active_jobs(self) -> bool:
        out = self.run("squeue", "-h", "-t", "pending,running,completing,suspended", "-o", "%i")
        return out.returncode == 0 and not out.stdout.strip()

    def _start_munge(self) -> None:
        munge = self.root / "munge"
        key = munge / "munge.key"
        key.write_bytes(os.urandom(1024))
        os.chmod(key, 0o400)
        args = [
            tool("munged"), "--foreground", "--force",
            f"--socket={munge / 'munge.socket'}", f"--key-file={key}",
            f"--pid-file={munge / 'munged.pid'}", f"--log-file={self.root / 'logs' / 'munged.log'}",
            f"--seed-file={munge / 'munged.seed'}",
        ]
        self._spawn("munged", args)
        self._wait("the munge socket exists", (munge / "munge.socket").exists)

    def _write_config(self) -> None:
        ETC.mkdir(parents=True, exist_ok=True)
        for name in ("slurm.conf", "gres.conf"):
            target = ETC / name
            if target.exists() and MARKER not in target.read_text(errors="replace"):
                pytest.fail(f"{target} exists and was not written by the SLURM tests; refusing to overwrite it")
            target.write_text((HERE / name).read_text().replace("{root}", str(self.root)))
            self.written.append(target)

    def _spawn(self, name: str, args: list[str]) -> None:
        log = open(self.root / "logs" / f"{name}.stdout.log", "w")
        self.daemons[name] = subprocess.Popen(
            args, stdout=log, stderr=subprocess.STDOUT, env=daemon_env(), start_new_session=True
        )
        log.close()

    def _wait(self, what: str, ready, timeout: float = 60, fail: bool = True) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if ready():
                return True
            dead = [n for n, p in self.daemons.items() if p.poll() is not None]
            if dead and fail:
                pytest.fail(f"SLURM daemon(s) {dead} exited while waiting until {what}:\n{self.logs()}")
            time.sleep(0.5)
        if fail:
            pytest.fail(f"timed out after {timeout} s waiting until {what}:\n{self.logs()}")
        return False


def _terminate(proc: subprocess.Popen) -> None:
    """SIGTERM the daemon's process group, then SIGKILL it after 20 s."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    except ProcessLookupError:
        proc.wait(timeout=10)


def _wait_gone(name: str, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while running((name,)):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    return True
