"""``reliefledger interop``: onboarding partner systems, and the partner's side of a signature (for
trying the standards with curl: docs/interop.md)."""

import json
import secrets
import sys
import time
from pathlib import Path
from typing import Optional

import nacl.signing
import typer
from rich.console import Console

from reliefledger.interop.settings import RECORD_FIELDS, SCOPES, InteropSettingsError, write_civil_registration, write_client
from reliefledger.interop.signatures import SigningKey, sign_envelope, to_jwk

interop_app = typer.Typer(help="DCI and G2P Connect: partner systems, their keys, signing a message as a partner.", no_args_is_help=True)
console = Console()
error_console = Console(stderr=True)


def fail(message: str) -> None:
    error_console.print(f"[red]error:[/] {message}", highlight=False)
    raise typer.Exit(1)


@interop_app.command("add-client")
def add_client_command(directory: Path = typer.Argument(..., help="Chain folder of the node"),
                       client_id: str = typer.Option(..., help="The partner's OAuth2 client id"),
                       sender_id: str = typer.Option(..., help="The sender_id its messages carry"),
                       callback_uri: str = typer.Option(..., help="Base of its callback endpoints (…/registry/on-search is appended)"),
                       scopes: str = typer.Option("registry.search,registry.txn-status", help=f"Comma-separated, of: {', '.join(SCOPES)}"),
                       fields: str = typer.Option("household_id,region,status,members_count,programmes", help=f"Comma-separated, of: {', '.join(RECORD_FIELDS)}"),
                       jwks_uri: Optional[str] = typer.Option(None, help="Where its public keys are published"),
                       jwks_file: Optional[Path] = typer.Option(None, help="Or: a file holding its JWKS"),
                       callback_token: Optional[str] = typer.Option(None, help="A bearer token it issued us for its endpoints (a civil registry's, for our subscriptions)"),
                       budget_account: Optional[str] = typer.Option(None, help="With the scope disburse.disburse: the budget account its disbursements are paid from"),
                       node_sender_id: str = typer.Option("reliefledger", help="This node's sender id (when interop.toml is made)")) -> None:
    """Onboard a partner system; its client secret is printed once and stored only as a hash."""
    if not (Path(directory) / "genesis.json").exists():
        fail(f"{directory} is not a chain folder (no genesis.json)")
    try:
        jwks = json.loads(jwks_file.read_text()) if jwks_file is not None else None
        secret = write_client(directory, client_id=client_id, sender_id=sender_id, callback_uri=callback_uri, scopes=_split(scopes), fields=_split(fields),
                              jwks_uri=jwks_uri, jwks=jwks, callback_token=callback_token, node_sender_id=node_sender_id, budget_account=budget_account)
    except (InteropSettingsError, OSError, ValueError) as error:
        fail(str(error))
    console.print(f"client [bold]{client_id}[/] onboarded; its secret (shown once): {secret}", highlight=False)


@interop_app.command("civil-registry")
def civil_registry_command(directory: Path = typer.Argument(..., help="Chain folder of the node"),
                           client_id: str = typer.Option(..., help="The civil registry, onboarded with add-client --scopes crvs.notify"),
                           registrar: str = typer.Option(..., help="The staff member (a caseworker of the region) who applies its births and deaths"),
                           public_uri: str = typer.Option(..., help="Where the registry reaches this node's callbacks, e.g. https://node.example/dci/crvs")) -> None:
    """Subscribe this node to a civil registry's births and deaths (applied when `reliefledger node` serves)."""
    try:
        write_civil_registration(directory, client_id=client_id, registrar=registrar, public_uri=public_uri)
    except (InteropSettingsError, OSError) as error:
        fail(str(error))
    console.print(f"civil registry [bold]{client_id}[/] named; `reliefledger node {directory}` subscribes to its births and deaths", highlight=False)


@interop_app.command("keygen")
def keygen_command(out: Path = typer.Argument(..., help="Where to write the partner's key file (must not exist)"),
                   sender_id: str = typer.Option(..., help="The sender_id the key signs for")) -> None:
    """Make a partner's Ed25519 signing key; print its JWKS (what to onboard it with)."""
    if out.exists():
        fail(f"{out} exists")
    key = SigningKey(f"key-{secrets.token_hex(4)}", nacl.signing.SigningKey.generate().encode())
    out.write_text(json.dumps({"kid": key.kid, "seed": key.seed.hex(), "sender_id": sender_id}))
    out.chmod(0o600)
    console.print_json(data={"keys": [to_jwk(key.kid, key.public_key)]})


@interop_app.command("sign")
def sign_command(key_file: Path = typer.Argument(..., help="A key file from `reliefledger interop keygen`"),
                 namespace: str = typer.Option("dci", help="dci, or g2p for G2P Connect")) -> None:
    """Read an envelope ({header, message}) on standard input, print it signed (fresh message_id and message_ts)."""
    try:
        key_document = json.loads(key_file.read_text())
        key = SigningKey(key_document["kid"], bytes.fromhex(key_document["seed"]))
        envelope = json.loads(sys.stdin.read())
        header = envelope["header"]
        if not isinstance(header, dict):
            raise TypeError("the envelope's header is not an object")
    except (OSError, ValueError, KeyError, TypeError) as error:
        fail(f"cannot read the key file or the envelope: {error}")
    header["message_id"] = secrets.token_hex(8)
    header["message_ts"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    header["sender_id"] = key_document.get("sender_id", header.get("sender_id"))
    envelope["signature"] = sign_envelope(key, header["sender_id"], envelope, int(time.time()), namespace=namespace)
    sys.stdout.write(json.dumps(envelope, ensure_ascii=False) + "\n")


def _split(text: str) -> list[str]:
    return [item.strip() for item in text.split(",") if item.strip()]
