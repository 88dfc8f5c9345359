"""A throwaway PostgreSQL cluster for the tests: initdb into a temp dir, a unix socket, stopped after.

Why not a server the machine already runs: the tests must pass on a clean clone (CI), with nothing
started beforehand, and must never touch a database somebody cares about. A cluster of its own costs
about a second (``initdb`` with ``--no-sync``, ``fsync=off``), listens on no TCP port (a socket in
its own folder), and is deleted with the folder.

``initdb`` refuses to run as root, and CI runs as root: then the cluster is made and served by the
``postgres`` user (the Debian packages create it), the folder handed to that user first.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

SUPERUSER = "soracord"
SERVER_OPTIONS = (
    "-c listen_addresses='' -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    " -c max_connections=200 -c shared_buffers=32MB"
)
# A server's own durability (each commit flushed to disk): what a bench of commits must measure.
DURABLE_OPTIONS = "-c listen_addresses='' -c max_connections=200 -c shared_buffers=32MB"


def binaries() -> Path | None:
    """The folder holding ``initdb`` and ``pg_ctl`` (PATH first, then Debian's versioned folders)."""
    found = shutil.which("initdb")
    if found and shutil.which("pg_ctl"):
        return Path(found).resolve().parent
    for folder in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if (Path(folder) / "initdb").exists() and (Path(folder) / "pg_ctl").exists():
            return Path(folder)
    return None


def why_not() -> str | None:
    """Why no cluster can be started here (None: it can)."""
    if binaries() is None:
        return "PostgreSQL is not installed (no initdb/pg_ctl on PATH or in /usr/lib/postgresql/*/bin)"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root, and there is no 'postgres' user to run initdb as"
    return None


@dataclass(frozen=True)
class Cluster:
    folder: Path
    socket_dir: Path

    def url(self, database: str = "postgres") -> str:
        """An asyncpg URL for ``database`` over the cluster's unix socket."""
        return f"postgresql://{SUPERUSER}@/{database}?host={self.socket_dir}"


def _run_as_owner(args: list[str]) -> None:
    """Run a server tool as ourselves, or as ``postgres`` when we are root (initdb refuses root)."""
    user = "postgres" if os.geteuid() == 0 else None
    subprocess.run(
        args,
        check=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        user=user,
        group=pwd.getpwnam(user).pw_gid if user else None,
        extra_groups=[] if user else None,
        cwd="/",
    )


@contextlib.contextmanager
def cluster(*, durable: bool = False) -> Iterator[Cluster]:
    """Start a new cluster and yield it; stopped and deleted afterwards, whatever happened. Tests
    run it without flushing to disk; ``durable`` keeps PostgreSQL's own commit flush."""
    bin_dir = binaries()
    if bin_dir is None:
        raise RuntimeError(why_not())
    folder = Path(tempfile.mkdtemp(prefix="soracord-pg-"))
    data, sock = folder / "data", folder / "sock"
    sock.mkdir()
    if os.geteuid() == 0:
        owner = pwd.getpwnam("postgres")
        for path in (folder, sock):
            os.chown(path, owner.pw_uid, owner.pw_gid)
    started = False
    try:
        try:
            initdb = [str(bin_dir / "initdb"), "-D", str(data), "-U", SUPERUSER, "-A", "trust", "-E", "UTF8"]
            _run_as_owner([*initdb, "--locale=C", "--no-sync", "--no-instructions"])
            pg_ctl = [str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(folder / "server.log"), "-w", "-s"]
            options = DURABLE_OPTIONS if durable else SERVER_OPTIONS
            _run_as_owner([*pg_ctl, "-o", f"{options} -k {sock}", "start"])
        except subprocess.CalledProcessError as exc:  # say why: the tool's output and the server's log
            log = folder / "server.log"
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            output = (exc.stdout or b"").decode(errors="replace")
            raise RuntimeError(f"{exc.cmd[0]} failed: {output}\n{tail}") from exc
        started = True
        yield Cluster(folder, sock)
    finally:
        if started:
            with contextlib.suppress(subprocess.CalledProcessError):
                _run_as_owner(
                    [str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-s", "-w", "stop"]
                )
        shutil.rmtree(folder, ignore_errors=True)


def main(argv: list[str]) -> int:
    """``python -m tests.pg_cluster CMD …``: run CMD with ``DATABASE_URL`` on a throwaway cluster."""
    if not argv:
        print("usage: python -m tests.pg_cluster CMD [ARG ...]")
        return 2
    with cluster() as pg:
        env = {**os.environ, "DATABASE_URL": pg.url()}
        return subprocess.run(argv, env=env, check=False).returncode


if __name__ == "__main__":
    import sys

    raise SystemExit(main(sys.argv[1:]))
