"""The jetstream orderer: ordering on a NATS JetStream cluster, not on code of ours.

Two replicated streams per chain:

- ``RL_<chain>_TX`` (subject ``rl.<chain>.tx``): every peer publishes the transactions it accepted,
  with the transaction id as ``Nats-Msg-Id`` so a retried publish is dropped as a duplicate;
- ``RL_<chain>_BLOCKS`` (subject ``rl.<chain>.blocks``): block ``h`` is message ``h``. A block
  cutter (a peer holding the orderer key) reads transactions from where the last block ended
  (header ``Rl-Tx-Last-Seq`` of that block's message), cuts a block by count, bytes and wait, signs
  it and appends it with ``Nats-Expected-Last-Sequence: h - 1``: two cutters racing can never fork
  the chain, the loser is fenced (error 10071), re-reads the head and goes on. A standby cutter
  takes over when the head has not moved for a while although transactions wait.

Every peer follows the block stream from its own tip and hands the blocks to its commit loop,
which checks each block against its tip and the orderer keys (``find_block_fault``) and halts on
anything that does not extend its chain. The engine is not trusted blindly: a cutter that finds
the stream behind its own committed tip (blocks lost by the cluster) publishes the missing blocks
again from its store before cutting new ones, and block time never decreases.

Publishing retries with the same message id through a leader election (4 to 9 s here); a
publish that cannot be acknowledged within the submit deadline raises ``OrderingUnavailable``.
Facts measured on this machine with nats-server 2.15: ``docs/deployment.md``.
"""

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import Callable, Sequence

import nats
import nats.errors
import nats.js.errors
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy, DiscardPolicy, RetentionPolicy, StorageType

from reliefledger.ledger import limits
from reliefledger.ledger.blocks import Block, BlockHeader, build_header, compute_block_hash
from reliefledger.ledger.encoding import decode_json
from reliefledger.ledger.errors import LedgerInputError
from reliefledger.ledger.suites import Suite
from reliefledger.ledger.transactions import Envelope, parse_envelope
from reliefledger.ordering.protocol import BatchLimits, ChainPosition

logger = logging.getLogger(__name__)

TX_LAST_SEQUENCE_HEADER = "Rl-Tx-Last-Seq"
WRONG_LAST_SEQUENCE = 10071
MESSAGE_ID_IN_PROCESS = 10158
NO_PEERS_YET = 10005
BLOCK_QUEUE_MAX = 8
ATTESTATIONS_PER_SECOND_MAX = 5
PUBLISH_IN_FLIGHT_MAX = 256
RETRYABLE = (nats.errors.TimeoutError, nats.js.errors.NoStreamResponseError, nats.errors.NoRespondersError,
             nats.errors.ConnectionReconnectingError, nats.errors.OutboundBufferLimitError, nats.js.errors.ServiceUnavailableError)


class OrderingUnavailable(LedgerInputError):
    """The ordering cluster did not acknowledge in time (no quorum); retry the same transaction later."""

    code = "ordering_unavailable"


class Fenced(Exception):
    """Another cutter appended first: the block stream's last sequence is not the one expected."""


@dataclass(frozen=True)
class JetStreamSettings:
    """How a peer reaches the cluster and whether it cuts blocks."""

    servers: tuple[str, ...]
    cutter: str = "standby"
    """``active`` (cuts at once), ``standby`` (takes over when the head stalls) or ``off``."""
    replicas: int = 3
    publish_timeout_s: float = 2.0
    submit_deadline_s: float = 20.0
    """How long a submission retries before it fails with ``ordering_unavailable``."""
    takeover_after_s: float = 3.0
    """How long a standby cutter waits on a stalled head before cutting itself."""


def get_stream_names(chain_id: str) -> tuple[str, str, str, str]:
    """(transaction stream, its subject, block stream, its subject) of a chain."""
    token = chain_id.replace(".", "_")
    return f"RL_{token}_TX", f"rl.{token}.tx", f"RL_{token}_BLOCKS", f"rl.{token}.blocks"


def get_attestation_names(chain_id: str) -> tuple[str, str]:
    """(attestation stream, its subject) of a chain."""
    token = chain_id.replace(".", "_")
    return f"RL_{token}_ATTEST", f"rl.{token}.attest"


def encode_block(block: Block) -> bytes:
    """A block as one message: header, signature, then each transaction's canonical bytes, one per
    line (canonical JSON never holds a raw newline)."""
    return b"\n".join([block.header.encode(), block.orderer_signature.hex().encode(), *(envelope.encoded for envelope in block.transactions)])


def decode_block(data: bytes) -> Block:
    """Parse a block message; ``LedgerInputError`` when it is not one."""
    lines = data.split(b"\n")
    if len(lines) < 2:
        raise LedgerInputError("a block message has a header and a signature", code="invalid_block")
    try:
        header = BlockHeader.from_json(decode_json(lines[0]))
        signature = bytes.fromhex(lines[1].decode("ascii"))
    except (ValueError, KeyError, TypeError, UnicodeDecodeError) as error:
        raise LedgerInputError(f"the block message is damaged: {error}", code="invalid_block") from None
    return Block(header, signature, tuple(parse_envelope(line) for line in lines[2:]))


class StreamReader:
    """Reads one stream from a sequence onward with no gap, through server and leader failures: an
    ephemeral pull consumer that is thrown away and made again at the next sequence on any trouble."""

    def __init__(self, js: "nats.js.JetStreamContext", stream: str, subject: str, next_sequence: int, *, skip_gaps: bool = False) -> None:
        self.js, self.stream, self.subject, self.next_sequence = js, stream, subject, next_sequence
        self.skip_gaps = skip_gaps
        """Jump over messages the stream no longer holds (attestations); otherwise wait for them."""
        self.stream_reset = False
        """Set when the stream ends before what this reader already read: it was lost and begun again."""
        self._subscription = None

    async def read(self, count_max: int, wait_s: float) -> list["nats.aio.msg.Msg"]:
        """Up to ``count_max`` messages in sequence order, waiting at most about ``wait_s`` for the first."""
        try:
            if self._subscription is None:
                config = ConsumerConfig(deliver_policy=DeliverPolicy.BY_START_SEQUENCE, opt_start_seq=self.next_sequence, ack_policy=AckPolicy.NONE,
                                        inactive_threshold=30.0, num_replicas=1, mem_storage=True)
                self._subscription = await self.js.pull_subscribe(self.subject, stream=self.stream, config=config)
            try:
                messages = await self._subscription.fetch(count_max, timeout=max(wait_s, 0.005))
            except asyncio.TimeoutError:
                info = await self.js.stream_info(self.stream)
                if info.state.last_seq < self.next_sequence - 1:
                    self.stream_reset = True
                if self.skip_gaps and info.state.first_seq > self.next_sequence:
                    self.next_sequence = info.state.first_seq
                    await self._reset()
                elif info.state.last_seq >= self.next_sequence:
                    await self._reset()  # the consumer is stuck or gone while the stream has more
                return []
            taken = []
            for message in messages:
                sequence = message.metadata.sequence.stream
                if sequence < self.next_sequence:
                    continue
                if sequence > self.next_sequence:
                    if not self.skip_gaps:
                        logger.error("stream %s skipped from %d to %d: waiting for the missing messages", self.stream, self.next_sequence, sequence)
                        await self._reset()
                        break
                    self.next_sequence = sequence
                taken.append(message)
                self.next_sequence = sequence + 1
            return taken
        except nats.errors.Error as error:
            logger.debug("reader of %s reset at %d: %r", self.stream, self.next_sequence, error)
            await self._reset()
            await asyncio.sleep(0.2)
            return []

    async def _reset(self) -> None:
        if self._subscription is not None:
            try:
                await self._subscription.unsubscribe()
            except Exception:  # a dead subscription has nothing to undo
                pass
            self._subscription = None

    async def close(self) -> None:
        """Drop the consumer."""
        await self._reset()


@dataclass(frozen=True)
class Head:
    """The chain as the block stream holds it: the last block and where its transactions ended."""

    position: ChainPosition
    transaction_sequence: int
    """The last transaction-stream sequence in a block (0 before the first)."""


class JetStreamOrderer:
    """Orders through the cluster; cuts blocks too when given the orderer key."""

    def __init__(self, *, chain_id: str, suite: Suite, settings: JetStreamSettings, clock_ms: Callable[[], int], batch: BatchLimits = BatchLimits(),
                 signing_seed: bytes | None = None, genesis_position: ChainPosition, read_local_block: Callable[[int], Block | None] = lambda height: None,
                 local_height: Callable[[], int] = lambda: 0) -> None:
        self.chain_id, self.suite, self.settings, self.clock_ms, self.batch = chain_id, suite, settings, clock_ms, batch
        self.signing_seed = signing_seed
        self.public_key = suite.compute_public_key(signing_seed).hex() if signing_seed else None
        self.genesis_position = genesis_position
        self.read_local_block, self.local_height = read_local_block, local_height
        self.tx_stream, self.tx_subject, self.block_stream, self.block_subject = get_stream_names(chain_id)
        self.attestation_stream, self.attestation_subject = get_attestation_names(chain_id)
        self.highest_attested: Callable[[], int] = lambda: 0
        """The highest height an active, agreeing peer attests (set by the node): the cutter never
        cuts below it, so a block the stream lost is published again before anything new."""
        self.on_attestation: Callable[[bytes], None] | None = None
        """Called with every published attestation (the node's attestation book), when set before start."""
        self._latest_attestation = b""
        self._attestation_ready = asyncio.Event()
        self._blocks: asyncio.Queue[Block] = asyncio.Queue(BLOCK_QUEUE_MAX)
        self._tasks: list[asyncio.Task] = []
        self._connection: nats.NATS | None = None
        self.js = None
        self.cutting = False
        """True while this peer's cutter is the active one (shown in the node's status)."""
        self._streams_checked = 0.0

    async def start(self, position: ChainPosition) -> None:
        """Connect, make sure both streams exist, follow blocks after ``position``, cut if allowed."""
        self._connection = await _connect(self.settings.servers)
        self.js = self._connection.jetstream(timeout=self.settings.publish_timeout_s)
        await self._ensure_streams()
        self._tasks.append(asyncio.create_task(self._follow_blocks(position.height + 1), name="jetstream-follower"))
        if self.signing_seed is not None and self.settings.cutter != "off":
            self._tasks.append(asyncio.create_task(self._run_cutter(), name="jetstream-cutter"))
        self._tasks.append(asyncio.create_task(self._publish_attestations(), name="jetstream-attestations-out"))
        self._tasks.append(asyncio.create_task(self._guard_block_stream(), name="jetstream-guard"))
        if self.on_attestation is not None:
            self._tasks.append(asyncio.create_task(self._follow_attestations(), name="jetstream-attestations-in"))

    def attest(self, data: bytes) -> None:
        """Offer this peer's signed attestation of its newest block for publishing. At most
        ``ATTESTATIONS_PER_SECOND_MAX`` go out: under load the newest waiting one replaces the one
        before it (agreeing at a height vouches for the chain up to it: each block hash names the
        block before)."""
        self._latest_attestation = data
        self._attestation_ready.set()

    async def _publish_attestations(self) -> None:
        while True:
            await self._attestation_ready.wait()
            self._attestation_ready.clear()
            data = self._latest_attestation
            try:
                await self._publish(self.attestation_subject, data, {}, time.monotonic() + 30)
            except Exception as error:  # the cluster is away: the next attestation will say the same and more
                logger.warning("attestation not published: %r", error)
            await asyncio.sleep(1 / ATTESTATIONS_PER_SECOND_MAX)

    async def _follow_attestations(self) -> None:
        reader = StreamReader(self.js, self.attestation_stream, self.attestation_subject, 1, skip_gaps=True)
        try:
            while True:
                for message in await reader.read(256, 1.0):
                    try:
                        self.on_attestation(message.data)
                    except Exception:  # one bad message must not stop the follower
                        logger.exception("attestation %d could not be handled", message.metadata.sequence.stream)
        finally:
            await reader.close()

    async def submit(self, envelopes: Sequence[Envelope]) -> None:
        """Publish every envelope, its id as message id; ``OrderingUnavailable`` when the cluster
        cannot acknowledge them all before the submit deadline (some may still be ordered: their ids
        keep a retry idempotent)."""
        deadline = time.monotonic() + self.settings.submit_deadline_s
        gate = asyncio.Semaphore(PUBLISH_IN_FLIGHT_MAX)

        async def publish(envelope: Envelope) -> None:
            async with gate:
                await self._publish(self.tx_subject, envelope.encoded, {"Nats-Msg-Id": envelope.id.hex()}, deadline)

        results = await asyncio.gather(*(publish(envelope) for envelope in envelopes), return_exceptions=True)
        failures = [result for result in results if isinstance(result, BaseException)]
        if failures:
            raise OrderingUnavailable(f"the ordering cluster did not acknowledge {len(failures)} of {len(envelopes)} transactions "
                                      f"within {self.settings.submit_deadline_s:.0f} s ({failures[0]!r}); resubmit them (their ids make it safe)")

    async def next_block(self) -> Block:
        """The next block of the stream after the last one handed out."""
        return await self._blocks.get()

    async def close(self) -> None:
        """Stop following and cutting; close the connection."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            try:
                await task
            except (asyncio.CancelledError, Exception):
                pass
        self._tasks.clear()
        if self._connection is not None and not self._connection.is_closed:
            try:
                await asyncio.wait_for(self._connection.close(), 5)
            except (asyncio.TimeoutError, nats.errors.Error):
                pass

    async def _ensure_streams(self) -> None:
        """Create both streams if the cluster lacks them (first start, or stream files lost)."""
        for stream, subject in ((self.tx_stream, self.tx_subject), (self.block_stream, self.block_subject),
                                (self.attestation_stream, self.attestation_subject)):
            await _ensure_stream(self.js, stream, subject, self.settings.replicas)
        self._streams_checked = time.monotonic()

    async def _ensure_streams_now_and_then(self) -> None:
        """While publishes find no stream, check every few seconds whether the streams are gone."""
        if time.monotonic() - self._streams_checked > 3:
            self._streams_checked = time.monotonic()
            try:
                for stream in (self.tx_stream, self.block_stream):
                    await self.js.stream_info(stream)
            except nats.js.errors.NotFoundError:
                logger.warning("the cluster lost a stream of this chain: creating it again")
                await self._ensure_streams()
            except nats.errors.Error:
                pass

    async def _publish(self, subject: str, payload: bytes, headers: dict[str, str], deadline: float) -> "nats.js.api.PubAck":
        delay = 0.05
        while True:
            try:
                return await self.js.publish(subject, payload, headers=dict(headers), timeout=self.settings.publish_timeout_s)
            except nats.js.errors.APIError as error:
                if error.err_code == WRONG_LAST_SEQUENCE:
                    raise Fenced(error.description) from error
                if error.err_code != MESSAGE_ID_IN_PROCESS and not isinstance(error, nats.js.errors.ServiceUnavailableError):
                    raise
            except nats.js.errors.NoStreamResponseError:
                await self._ensure_streams_now_and_then()  # no leader yet, or no stream at all any more
            except RETRYABLE:
                pass  # the outcome is unknown: retry with the same message id
            if time.monotonic() > deadline:
                raise TimeoutError(f"no acknowledgement for {subject} before the deadline")
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.5)

    async def _follow_blocks(self, first_height: int) -> None:
        reader = StreamReader(self.js, self.block_stream, self.block_subject, first_height)
        try:
            while True:
                for message in await reader.read(BLOCK_QUEUE_MAX, 1.0):
                    try:
                        block = decode_block(message.data)
                    except LedgerInputError as error:
                        logger.error("block message %d cannot be read: %s", message.metadata.sequence.stream, error)
                        continue
                    await self._blocks.put(block)
        finally:
            await reader.close()

    async def _read_head(self) -> Head:
        try:
            info = await self.js.stream_info(self.block_stream)
        except nats.js.errors.NotFoundError:
            await self._ensure_streams()
            info = await self.js.stream_info(self.block_stream)
        last = info.state.last_seq
        transactions = (await self.js.stream_info(self.tx_stream)).state
        if last == 0:
            return Head(self.genesis_position, 0)
        message = await self.js.get_msg(self.block_stream, last)
        header = decode_block(message.data).header
        if header.height != last:
            raise LedgerInputError(f"block stream message {last} holds block {header.height}", code="stream_mismatch")
        transaction_sequence = int((message.headers or {}).get(TX_LAST_SEQUENCE_HEADER, "0"))
        if transactions.last_seq < transaction_sequence:  # the transaction stream was lost and begun again
            transaction_sequence = max(transactions.first_seq - 1, 0)
        return Head(ChainPosition(header.height, compute_block_hash(self.suite, header), header.time_ms), transaction_sequence)

    async def _guard_block_stream(self) -> None:
        """Every peer, cutter or not: when the block stream ends below this peer's committed tip,
        publish the missing blocks from this peer's store (they carry the orderer's signature)."""
        while True:
            await asyncio.sleep(2)
            try:
                info = await self.js.stream_info(self.block_stream)
                if info.state.last_seq < self.local_height():
                    await self._restore_lost_blocks(await self._read_head())
            except Fenced:
                pass
            except Exception as error:  # the cluster is away: look again later
                logger.debug("block stream guard: %r", error)

    async def _restore_lost_blocks(self, head: Head) -> Head:
        """Publish again, from this peer's store, committed blocks the stream no longer holds."""
        restored = False
        if head.position.height < self.local_height() and not self._extends_local_chain(head):
            logger.critical("ALARM: the block stream's head %d is not the block this peer committed there; publishing nothing",
                            head.position.height)
            return head
        while head.position.height < self.local_height():
            block = self.read_local_block(head.position.height + 1)
            if block is None:
                break
            logger.warning("the block stream lacks block %d that this peer committed: publishing it again", block.header.height)
            head = await self._append(block, head, head.transaction_sequence)
            restored = True
        return await self._read_head() if restored else head

    def _extends_local_chain(self, head: Head) -> bool:
        """True when the stream's head is this peer's own block at that height (or the genesis)."""
        if head.position.height == 0:
            return head.position.hash == self.genesis_position.hash
        block = self.read_local_block(head.position.height)
        return block is not None and compute_block_hash(self.suite, block.header) == head.position.hash

    async def _append(self, block: Block, head: Head, transaction_sequence: int) -> Head:
        headers = {"Nats-Msg-Id": f"block-{block.header.height}-{compute_block_hash(self.suite, block.header).hex()}",
                   "Nats-Expected-Last-Sequence": str(head.position.height), TX_LAST_SEQUENCE_HEADER: str(transaction_sequence)}
        await self._publish(self.block_subject, encode_block(block), headers, time.monotonic() + 60)
        return Head(ChainPosition(block.header.height, compute_block_hash(self.suite, block.header), block.header.time_ms), transaction_sequence)

    async def _run_cutter(self) -> None:
        while True:
            try:
                head = await self._restore_lost_blocks(await self._read_head())
                attested = self.highest_attested()
                if head.position.height < attested:
                    logger.warning("the block stream ends at %d but peers attest %d: waiting for the missing blocks", head.position.height, attested)
                    await asyncio.sleep(1)
                    continue
                if self.settings.cutter == "standby" and not await self._wait_for_stall(head):
                    continue
                await self._cut_from(head)
            except asyncio.CancelledError:
                raise
            except Fenced:
                logger.info("another cutter appended first; reading the head again")
            except Exception as error:  # the cluster is away or a message is damaged: try again shortly
                logger.warning("cutter: %r", error)
                await asyncio.sleep(0.5)
            finally:
                self.cutting = False

    async def _wait_for_stall(self, head: Head) -> bool:
        """True when transactions wait beyond the head and the head has not moved for the take-over time."""
        started = time.monotonic()
        while time.monotonic() - started < self.settings.takeover_after_s:
            await asyncio.sleep(0.5)
            current = await self._read_head()
            if current.position.height != head.position.height:
                return False
        info = await self.js.stream_info(self.tx_stream)
        return info.state.last_seq > head.transaction_sequence

    async def _cut_from(self, head: Head) -> None:
        """Cut blocks after ``head`` until fenced by another cutter."""
        reader = StreamReader(self.js, self.tx_stream, self.tx_subject, head.transaction_sequence + 1)
        carried: list = []
        self.cutting = True
        try:
            while True:
                # One pull per block: it returns when the block is full or the batching wait is over.
                messages = carried + await reader.read(self.batch.transaction_count_max - len(carried), self.batch.wait_ms_max / 1000)
                if not messages:
                    if reader.stream_reset:
                        return  # the transaction stream was lost and begun again: read the head again
                    if self.settings.cutter == "standby" and (await self._read_head()).position.height != head.position.height:
                        return  # the active cutter is back
                    continue
                taken, carried, envelopes, size = [], [], [], 0
                for message in messages:
                    if carried or size + len(message.data) > self.batch.bytes_max and taken:
                        carried.append(message)
                        continue
                    taken.append(message)
                    size += len(message.data)
                    try:
                        envelopes.append(parse_envelope(message.data))
                    except LedgerInputError as error:
                        logger.error("transaction message %d cannot be read and is skipped: %s", message.metadata.sequence.stream, error)
                block = self._cut(envelopes, head.position)
                head = await self._append(block, head, taken[-1].metadata.sequence.stream)
        finally:
            await reader.close()

    def _cut(self, envelopes: list[Envelope], position: ChainPosition) -> Block:
        time_ms = max(self.clock_ms(), position.time_ms)
        header = build_header(self.suite, chain=self.chain_id, height=position.height + 1, previous_hash=position.hash, time_ms=time_ms,
                              transactions=envelopes, orderer=self.public_key)
        return Block(header, self.suite.sign(self.signing_seed, header.encode()), tuple(envelopes))


async def _connect(servers: Sequence[str]) -> nats.NATS:
    async def on_error(error: Exception) -> None:
        logger.debug("nats: %r", error)

    try:
        # First one try of every server, so that a wrong address is a clear error and not a wait
        # forever; then a connection that reconnects for as long as the peer runs.
        probe = await asyncio.wait_for(nats.connect(servers=list(servers), allow_reconnect=False, connect_timeout=2, error_cb=on_error), 15)
        await probe.close()
        return await nats.connect(servers=list(servers), name="reliefledger-peer", allow_reconnect=True, max_reconnect_attempts=-1, reconnect_time_wait=0.5,
                                  connect_timeout=2, ping_interval=5, max_outstanding_pings=2, pending_size=64 * 1024 * 1024, error_cb=on_error)
    except (nats.errors.Error, OSError, asyncio.TimeoutError) as error:
        raise LedgerInputError(f"cannot reach the ordering cluster at {', '.join(servers)}: {error!r}", code="ordering_unavailable") from None


async def _ensure_stream(js: "nats.js.JetStreamContext", name: str, subject: str, replicas: int) -> None:
    """Create the stream (idempotent for the same configuration), retrying while the cluster settles."""
    deadline = time.monotonic() + 60
    while True:
        try:
            await js.add_stream(name=name, subjects=[subject], num_replicas=replicas, storage=StorageType.FILE, duplicate_window=120.0,
                                retention=RetentionPolicy.LIMITS, discard=DiscardPolicy.OLD, max_msg_size=limits.BLOCK_BYTES_MAX + 1024 * 1024)
            return
        except (nats.js.errors.ServiceUnavailableError, nats.errors.TimeoutError, nats.js.errors.NoStreamResponseError, nats.errors.NoRespondersError):
            pass
        except nats.js.errors.BadRequestError as error:
            if error.err_code != NO_PEERS_YET:
                raise LedgerInputError(f"cannot create stream {name}: {error.description}", code="ordering_unavailable") from None
        if time.monotonic() > deadline:
            raise LedgerInputError(f"the ordering cluster did not create stream {name} within 60 s", code="ordering_unavailable")
        await asyncio.sleep(0.25)
