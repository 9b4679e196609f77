"""A chain directory: genesis, keys, settings and the store of one peer, in one folder.

Layout::

    DIR/genesis.json          the chain's founding document (public)
    DIR/node.json             node settings
    DIR/keys/orderer.json     the solo orderer's signing key (secret, mode 0600)
    DIR/keys/<org>.json       each founding organisation's first admin key (secret, mode 0600)
    DIR/keys/vault.key        this node's vault master key (secret)
    DIR/keys/network.key      the network's pseudonym key (secret, shared by its agencies only)
    DIR/keys/staff/*.json     staff members' keys; DIR/tokens.json their API token hashes
    DIR/vault.sqlite          the vault: personal data, encrypted per record
    DIR/ledger.sqlite         the block store (SQLite, WAL)
"""

import json
from dataclasses import dataclass
from pathlib import Path

from reliefledger.ledger.chain import compute_genesis_state
from reliefledger.ledger.errors import LedgerInputError
from reliefledger.ledger.genesis import Genesis, IDENTIFIER_PATTERN, REGION_PATTERN, parse_genesis
from reliefledger.ledger.suites import get_suite
from reliefledger.node.keys import KeyFile, generate_key, read_key, write_key
from reliefledger.node.settings import NodeSettings, read_settings, write_settings
from reliefledger.store.block_store import BlockStore
from reliefledger.store.vault_keys import NETWORK_KEY_PATH, VAULT_KEY_PATH, generate_master_key, generate_network_key, write_secret_key

KNOWN_ORGANISATIONS = {
    "civil-affairs": ("民政局 Civil Affairs Bureau", "government_department"),
    "human-resources": ("人力资源和社会保障局 Human Resources and Social Security Bureau", "government_department"),
    "medical-security": ("医疗保障局 Medical Security Bureau", "government_department"),
    "public-security": ("公安局 Public Security Bureau", "government_department"),
    "tax": ("税务局 Tax Bureau", "government_department"),
    "natural-resources": ("规划和自然资源委员会 Natural Resources Commission", "government_department"),
    "market-regulation": ("市场监督管理局 Market Regulation Administration", "government_department"),
    "housing-fund": ("住房公积金管理中心 Housing Provident Fund Centre", "public_institution"),
    "emergency-management": ("应急管理局 Emergency Management Bureau", "government_department"),
    "operator-bank": ("数字人民币运营银行 Digital Currency Operator Bank", "bank"),
    "central-bank": ("中国人民银行 People's Bank of China (digital currency issuer)", "central_bank"),
    "utilities": ("水电燃气公司 Water, Power and Gas Utilities", "public_institution"),
    "charity-federation": ("慈善协会 Charity Federation", "social_organisation"),
    "finance": ("财政局 Finance Bureau", "government_department"),
    "discipline-inspection": ("纪委监委 Commission for Discipline Inspection and Supervision", "government_department"),
    "education": ("教育局 Education Bureau", "government_department"),
}
"""Organisations ``init`` knows by id, with a display name and kind."""

DEFAULT_ORGANISATIONS = ("civil-affairs", "human-resources", "medical-security", "public-security", "tax", "operator-bank")


@dataclass(frozen=True)
class ChainDirectory:
    """Paths of a chain directory."""

    root: Path

    @property
    def genesis_path(self) -> Path:
        return self.root / "genesis.json"

    @property
    def settings_path(self) -> Path:
        return self.root / "node.json"

    @property
    def store_path(self) -> Path:
        return self.root / "ledger.sqlite"

    @property
    def orderer_key_path(self) -> Path:
        return self.root / "keys" / "orderer.json"

    @property
    def vault_path(self) -> Path:
        return self.root / "vault.sqlite"

    @property
    def vault_key_path(self) -> Path:
        """This node's vault master key (secret, never shared)."""
        return self.root / VAULT_KEY_PATH

    @property
    def network_key_path(self) -> Path:
        """The key pseudonyms are computed under, shared by the network's agencies, never on the ledger."""
        return self.root / NETWORK_KEY_PATH

    def get_organisation_key_path(self, organisation_id: str) -> Path:
        """Where an organisation's admin key lives."""
        return self.root / "keys" / f"{organisation_id}.json"

    def read_genesis(self) -> Genesis:
        """Read and check genesis.json."""
        if not self.genesis_path.exists():
            raise LedgerInputError(f"{self.root} is not a chain directory (no genesis.json): run 'reliefledger init {self.root}'", code="not_a_chain")
        try:
            document = json.loads(self.genesis_path.read_text())
        except ValueError as error:
            raise LedgerInputError(f"{self.genesis_path}: not JSON ({error})", code="invalid_genesis") from None
        return parse_genesis(document)

    def read_settings(self) -> NodeSettings:
        """Read node.json."""
        return read_settings(self.settings_path)

    def read_orderer_key(self) -> KeyFile:
        """The orderer's signing key."""
        return read_key(self.orderer_key_path)

    def read_organisation_key(self, organisation_id: str) -> KeyFile:
        """An organisation's admin key."""
        return read_key(self.get_organisation_key_path(organisation_id))

    def open_store(self, settings: NodeSettings | None = None) -> BlockStore:
        """Open the block store, founding it from genesis.json the first time."""
        genesis = self.read_genesis()
        settings = settings or self.read_settings()
        store = BlockStore(self.store_path, synchronous=settings.sqlite_synchronous)
        if not store.is_initialised():
            writes, digest = compute_genesis_state(genesis)
            store.initialise(genesis, writes, digest)
        elif store.get_genesis().compute_hash() != genesis.compute_hash():
            store.close()
            raise LedgerInputError(f"{self.store_path} holds another chain than {self.genesis_path}", code="genesis_mismatch")
        return store


def initialise_directory(
    root: Path,
    *,
    suite_name: str,
    organisation_ids: list[str],
    region: str,
    chain_id: str,
    time_ms: int,
    settings: NodeSettings = NodeSettings(),
) -> ChainDirectory:
    """Create a chain directory with fresh keys; refuse to overwrite an existing chain."""
    directory = ChainDirectory(Path(root))
    if directory.root.exists() and not directory.root.is_dir():
        raise LedgerInputError(f"{root} exists and is not a folder", code="not_a_folder")
    if directory.genesis_path.exists():
        raise LedgerInputError(f"{root} already holds a chain (genesis.json exists)", code="already_initialised")
    suite = get_suite(suite_name)
    if not organisation_ids or len(set(organisation_ids)) != len(organisation_ids):
        raise LedgerInputError("name one or more distinct organisations", code="invalid_organisations")
    for organisation_id in organisation_ids:
        if not IDENTIFIER_PATTERN.fullmatch(organisation_id):
            raise LedgerInputError(f"organisation id {organisation_id!r}: use lowercase letters, digits, '.', '_', '-'", code="invalid_organisations")
    if not REGION_PATTERN.fullmatch(region):
        raise LedgerInputError(f"region {region!r} is not a six-digit GB/T 2260 code", code="invalid_region")
    organisation_keys = {organisation_id: generate_key(suite, organisation_id) for organisation_id in organisation_ids}
    orderer_key = generate_key(suite, "orderer")
    document = {
        "chain_id": chain_id,
        "orderers": [orderer_key.public_key],
        "organisations": [
            {
                "admin_key": key.public_key,
                "id": organisation_id,
                "kind": KNOWN_ORGANISATIONS.get(organisation_id, (organisation_id, "government_department"))[1],
                "name": KNOWN_ORGANISATIONS.get(organisation_id, (organisation_id, ""))[0],
                "region": region,
            }
            for organisation_id, key in organisation_keys.items()
        ],
        "suite": suite.name,
        "time_ms": time_ms,
    }
    parse_genesis(document)
    directory.root.mkdir(parents=True, exist_ok=True)
    for organisation_id, key in organisation_keys.items():
        write_key(directory.get_organisation_key_path(organisation_id), key)
    write_key(directory.orderer_key_path, orderer_key)
    write_secret_key(directory.vault_key_path, generate_master_key())
    write_secret_key(directory.network_key_path, generate_network_key())
    write_settings(directory.settings_path, settings)
    directory.genesis_path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
    return directory
