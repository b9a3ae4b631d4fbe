"""A single-node Slurm cluster on this machine, for trying the Slurm launcher and for its test.

``start`` installs Debian's ``slurm-wlm`` and ``munge`` with apt when ``slurmctld`` is missing
(root only; ``apt-get update`` first), then starts ``munged``, ``slurmctld`` and ``slurmd``
on 127.0.0.1 with one node: this host with its cores and memory, one default partition.
Everything lives in one state folder (default ``/tmp/layerbench-slurm``): ``slurm.conf``,
the munge key and socket, spool, logs, pid files, and ``jobcomp.log``, the scheduler's record
of every finished job (Slurm's ``jobcomp/filetxt``: id, name, state, node, times; database
accounting, which ``sacct`` reads, needs slurmdbd and MySQL). Nothing is written to /etc, and
the daemons listen on two free ports picked at start (not Slurm's 6817/6818), so a system
Slurm or a second cluster started at the same time is left alone. Clients find the
cluster through ``SLURM_CONF=<state>/slurm.conf``; ``env`` prints that line.

``start --nodes N`` makes this host N Slurm nodes (``<host>-1`` ... ``<host>-N``), one
``slurmd -N <node>`` each on its own port, the cores and memory split between them: a
cluster of several nodes on one machine (Debian's build runs several ``slurmd`` on one
host). ``stop`` ends the daemons it started (by their pid files) and removes the folder
unless ``--keep``.

Usage::

    python tools/slurm_local.py start [--state DIR] [--nodes N]   # prints export SLURM_CONF=...
    export SLURM_CONF=/tmp/layerbench-slurm/slurm.conf
    sinfo; sbatch --wrap hostname; squeue
    python tools/slurm_local.py stop [--state DIR] [--keep]
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

STATE = Path("/tmp/layerbench-slurm")
PACKAGES = ("slurm-wlm", "munge")
DAEMONS = ("slurmd", "slurmctld", "munged")  # stop order


class Unavailable(RuntimeError):
    """Slurm cannot be started here; the message says why (the test skips with it)."""


def _run(cmd: list[str], timeout: float = 600, **kw) -> subprocess.CompletedProcess:
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kw)
    if out.returncode != 0:
        raise Unavailable(f"`{' '.join(cmd)}` exited {out.returncode}: "
                          f"{(out.stderr or out.stdout).strip()[-800:]}")
    return out


def _sbin(name: str) -> str | None:
    return shutil.which(name) or next(
        (str(p) for p in (Path("/usr/sbin") / name, Path("/sbin") / name) if p.exists()), None)


def install() -> None:
    """``apt-get install slurm-wlm munge`` when ``slurmctld`` is missing."""
    if all(_sbin(d) for d in DAEMONS):
        return
    if os.geteuid() != 0:
        raise Unavailable("slurmctld/slurmd/munged are not installed and installing them "
                          "(apt-get install slurm-wlm munge) needs root")
    if shutil.which("apt-get") is None:
        raise Unavailable("slurmctld/slurmd/munged are not installed and there is no apt-get")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    _run(["apt-get", "update"], env=env)
    _run(["apt-get", "install", "-y", "--no-install-recommends", *PACKAGES], env=env)
    missing = [d for d in DAEMONS if not _sbin(d)]
    if missing:
        raise Unavailable(f"apt-get installed {PACKAGES} but {missing} are not on PATH")


def node() -> dict:
    """This host as one Slurm node: name, cores, memory (MB, 10 % left to the system)."""
    mem_kb = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                  if line.startswith("MemTotal:"))
    cpus = len(os.sched_getaffinity(0))
    return {"name": socket.gethostname().split(".")[0], "cpus": cpus,
            "memory_mb": int(mem_kb / 1024 * 0.9)}


def free_ports(count: int = 2) -> list[int]:
    """Ports nothing listens on now (the OS picks them)."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def node_names(nodes: int = 1) -> list[str]:
    """The Slurm node names of a cluster of ``nodes`` nodes on this host: the host's name,
    or ``<host>-1`` ... ``<host>-N``."""
    name = node()["name"]
    return [name] if nodes == 1 else [f"{name}-{i}" for i in range(1, nodes + 1)]


def _nodes_config(state: Path, ports: list[int], nodes: int) -> list[str]:
    """``slurmd`` settings and one ``NodeName`` line per node (ports: one per node)."""
    n = node()
    if nodes == 1:
        return [f"SlurmdPort={ports[0]}", f"SlurmdSpoolDir={state / 'spool'}",
                f"SlurmdPidFile={state / 'slurmd.pid'}", f"SlurmdLogFile={state / 'slurmd.log'}",
                "NodeName={name} NodeAddr=127.0.0.1 CPUs={cpus} RealMemory={memory_mb} "
                "State=UNKNOWN".format(**n)]
    cpus, memory = max(1, n["cpus"] // nodes), n["memory_mb"] // nodes
    lines = [f"SlurmdSpoolDir={state / 'spool'}/%n", f"SlurmdPidFile={state}/slurmd-%n.pid",
             f"SlurmdLogFile={state}/slurmd-%n.log"]
    for name, port in zip(node_names(nodes), ports, strict=True):
        lines.append(f"NodeName={name} NodeHostname={n['name']} NodeAddr=127.0.0.1 "
                     f"Port={port} CPUs={cpus} RealMemory={memory} State=UNKNOWN")
    return lines


def config(state: Path, ports: list[int], nodes: int = 1) -> str:
    """``slurm.conf`` of the cluster: ``ports`` are slurmctld's, then one per node."""
    n = node()
    return "\n".join([
        "ClusterName=layerbench",
        "SlurmctldHost={name}(127.0.0.1)".format(**n),
        f"SlurmctldPort={ports[0]}",
        "SlurmUser=root",
        "SlurmdUser=root",
        f"AuthInfo=socket={state / 'munge.socket'}",
        "AuthType=auth/munge",
        "CredType=cred/munge",
        f"StateSaveLocation={state / 'ctld'}",
        f"SlurmctldPidFile={state / 'slurmctld.pid'}",
        f"SlurmctldLogFile={state / 'slurmctld.log'}",
        "SlurmctldDebug=info",
        "SlurmdDebug=info",
        # no cgroups in a container: track processes by parent id, no task binding
        "ProctrackType=proctrack/linuxproc",
        "TaskPlugin=task/none",
        "SelectType=select/cons_tres",
        "SelectTypeParameters=CR_Core_Memory",
        "SchedulerType=sched/backfill",
        "MpiDefault=none",
        "ReturnToService=2",
        "AccountingStorageType=accounting_storage/none",
        "JobAcctGatherType=jobacct_gather/none",
        # the record of finished jobs without a database
        "JobCompType=jobcomp/filetxt",
        f"JobCompLoc={state / 'jobcomp.log'}",
        "MinJobAge=600",
        "DefMemPerCPU=1024",
        *_nodes_config(state, ports[1:], nodes),
        f"PartitionName=local Nodes={','.join(node_names(nodes))} Default=YES "
        "MaxTime=INFINITE State=UP",
        "",
    ])


def env(state: Path = STATE) -> dict[str, str]:
    """The environment for Slurm clients (sbatch, squeue, submitit) of this cluster."""
    return dict(os.environ, SLURM_CONF=str(state / "slurm.conf"))


def _wait(what: str, check, timeout: float, log: Path | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.5)
    tail = log.read_text()[-1500:] if log is not None and log.exists() else ""
    raise Unavailable(f"{what} within {timeout:.0f} s. {tail}")


def _node_idle(state: Path) -> bool:
    out = subprocess.run(["sinfo", "-h", "-N", "-o", "%t"], env=env(state), capture_output=True,
                         text=True, timeout=30)
    states = out.stdout.split()
    return out.returncode == 0 and bool(states) and all(
        s in ("idle", "mix", "alloc") for s in states)


def start(state: Path = STATE, nodes: int = 1) -> Path:
    """Install if needed, start munged, slurmctld and one slurmd per node, wait for the
    nodes; returns slurm.conf."""
    install()
    stop(state, keep=False)  # a previous run's leftovers
    for sub in ("ctld", "spool"):
        (state / sub).mkdir(parents=True, exist_ok=True)
    state.chmod(0o755)
    key = state / "munge.key"
    key.write_bytes(os.urandom(1024))
    key.chmod(0o600)
    conf = state / "slurm.conf"
    conf.write_text(config(state, free_ports(1 + nodes), nodes))
    for name in node_names(nodes) if nodes > 1 else []:
        (state / "spool" / name).mkdir(parents=True, exist_ok=True)
    _run([_sbin("munged"), "--force", f"--socket={state / 'munge.socket'}",
          f"--key-file={key}", f"--pid-file={state / 'munged.pid'}",
          f"--log-file={state / 'munged.log'}", f"--seed-file={state / 'munge.seed'}"])
    _run([_sbin("slurmctld"), "-f", str(conf)], env=env(state))
    for name in node_names(nodes) if nodes > 1 else [None]:
        _run([_sbin("slurmd"), "-f", str(conf), *(["-N", name] if name else [])],
             env=env(state))
    _wait("the nodes did not become idle", lambda: _node_idle(state), 60,
          state / "slurmctld.log")
    return conf


def stop(state: Path = STATE, keep: bool = False) -> None:
    """End the daemons started in ``state`` (pid files), then remove it unless ``keep``."""
    pidfiles = [*sorted(state.glob("slurmd-*.pid"))] + [state / f"{d}.pid" for d in DAEMONS]
    for pidfile in pidfiles:
        try:
            pid = int(pidfile.read_text().split()[0])
        except (OSError, ValueError, IndexError):
            continue
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            continue
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.2)
        else:
            os.kill(pid, signal.SIGKILL)
    if not keep and state.exists():
        shutil.rmtree(state, ignore_errors=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=("start", "stop", "env"))
    parser.add_argument("--state", type=Path, default=STATE)
    parser.add_argument("--keep", action="store_true", help="stop: keep logs and jobcomp.log")
    parser.add_argument("--nodes", type=int, default=1, help="start: Slurm nodes on this host")
    args = parser.parse_args(argv)
    state = args.state.resolve()
    if args.command == "start":
        try:
            start(state, args.nodes)
        except Unavailable as err:
            sys.exit(f"slurm_local: cannot start Slurm: {err}")
    elif args.command == "stop":
        stop(state, keep=args.keep)
        return
    print(f"export SLURM_CONF={state / 'slurm.conf'}")


if __name__ == "__main__":
    main()
