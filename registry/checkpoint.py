"""Signed checkpoints of a change log's head, and the key that signs them.

A checkpoint is a C2SP signed note (c2sp.org/signed-note) whose text follows the
transparency-log checkpoint layout (c2sp.org/tlog-checkpoint):

    alliance-registry/4f1c0d9e2b7a3c55/alliances/metro-home     origin: registry id, chain
    4                                                           size: the revision
    q1dS0kbAQ3sXPxX0yU2Jmh8dXQ4LFzL8oJ1I3YpQa9M=                the head hash, base64
    time 2026-11-22T10:00:00.000+00:00                          when it was signed

    — alliance-registry AbCd...base64(key id || Ed25519 signature)...

The root hash is the chain's head (the hash of the entry at that revision, which
covers every entry and document digest before it), not a Merkle root: a verifier
recomputes the chain from the stored entries instead of asking for proofs. The
signature is Ed25519 over the text (every line above the blank one, each ending in a
newline); the key ID is the first four bytes of SHA-256(name, newline, 0x01, public
key), so any signed-note verifier checks it with the verifier key that `registry key
generate` prints: `alliance-registry+<key id>+<base64(0x01 || public key)>`.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import re

import msgspec
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from registry.errors import InvalidRequest

KEY_NAME = "alliance-registry"
ED25519 = b"\x01"  # the signed-note signature type of Ed25519
DASH = "\u2014"  # the em dash that starts a signature line
TIME = "time "
# Size lines are ASCII decimal, no leading zero (0 only for an empty log).
SIZE = re.compile(r"^(0|[1-9][0-9]{0,17})$")
MAX_NOTE_BYTES = 16_384


class CheckpointError(InvalidRequest):
    """A checkpoint or a key that cannot be used: unreadable, or not signed by the key."""


class Checkpoint(msgspec.Struct, frozen=True):
    """What a checkpoint whose signature verified says."""

    origin: str
    size: int
    head: str  # hex, as the change log stores hashes
    time: str | None
    text: str  # the whole signed note, as served and saved


def origin(registry_id: str, chain: str) -> str:
    """A chain's origin line: `alliances/<name>` or `tokens`, of one registry."""
    return f"{KEY_NAME}/{registry_id}/{chain}"


def split_origin(line: str) -> tuple[str, str] | None:
    """(registry id, chain) of an origin line this registry writes, else None."""
    prefix, _, rest = line.partition("/")
    registry_id, _, chain = rest.partition("/")
    if prefix != KEY_NAME or not registry_id or not chain:
        return None
    return registry_id, chain


def key_id(name: str, public: bytes) -> bytes:
    return hashlib.sha256(name.encode() + b"\n" + ED25519 + public).digest()[:4]


class Signer:
    """The server's private key, read from outside the database."""

    def __init__(self, key: Ed25519PrivateKey, name: str = KEY_NAME) -> None:
        self._key = key
        self.name = name
        self.public = key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        self.key_id = key_id(name, self.public)

    @classmethod
    def generate(cls) -> Signer:
        return cls(Ed25519PrivateKey.generate())

    @classmethod
    def from_pem(cls, pem: bytes) -> Signer:
        """The key of a PEM file `registry key generate` wrote (ValueError if not one)."""
        try:
            key = serialization.load_pem_private_key(pem, password=None)
        except (ValueError, TypeError) as exc:
            raise ValueError("not a PEM private key without a password") from exc
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError("not an Ed25519 key")
        return cls(key)

    def pem(self) -> bytes:
        return self._key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )

    @property
    def verifier_key(self) -> str:
        """The public key as a signed-note verifier key, one line to keep and share."""
        encoded = base64.b64encode(ED25519 + self.public).decode()
        return f"{self.name}+{self.key_id.hex()}+{encoded}"

    @functools.cached_property
    def verifier(self) -> Verifier:
        return Verifier.parse(self.verifier_key)

    def sign(self, origin_line: str, size: int, head: str, time: str) -> str:
        """The signed note of a chain at `size` whose head is `head` (hex)."""
        root = base64.b64encode(bytes.fromhex(head)).decode()
        text = f"{origin_line}\n{size}\n{root}\n{TIME}{time}\n"
        signature = base64.b64encode(self.key_id + self._key.sign(text.encode())).decode()
        return f"{text}\n{DASH} {self.name} {signature}\n"


class Verifier:
    """A public key, given as the verifier key `registry key generate` printed."""

    def __init__(self, name: str, key_id: bytes, public: bytes) -> None:
        self.name = name
        self.key_id = key_id
        self._key = Ed25519PublicKey.from_public_bytes(public)

    @property
    def label(self) -> str:
        return f"{self.name}+{self.key_id.hex()}"

    @classmethod
    def parse(cls, text: str) -> Verifier:
        name, hash_hex, encoded = [*text.strip().split("+", 2), "", ""][:3]
        try:
            raw = base64.b64decode(encoded, validate=True)
            claimed = bytes.fromhex(hash_hex)
        except (binascii.Error, ValueError):
            raw, claimed = b"", b""
        if not name or len(raw) != 33 or raw[:1] != ED25519:
            raise CheckpointError(
                "the public key is not a verifier key such as `registry key generate` prints "
                "(alliance-registry+<key id>+<base64 key>)"
            )
        if claimed != key_id(name, raw[1:]):
            raise CheckpointError("the public key's id does not match its key: it was altered")
        return cls(name, claimed, raw[1:])

    def open(self, note: str) -> Checkpoint:
        """The checkpoint in a signed note, once its signature by this key verifies."""
        if len(note.encode()) > MAX_NOTE_BYTES:
            raise CheckpointError("not a checkpoint: far too long")
        text, _, signatures = note.rstrip("\n").rpartition("\n\n")
        if not text:
            raise CheckpointError("not a checkpoint: no signature lines after a blank line")
        text += "\n"
        signed_by = []
        for line in signatures.split("\n"):
            dash, _, rest = line.partition(" ")
            name, _, encoded = rest.partition(" ")
            try:
                signature = base64.b64decode(encoded, validate=True)
            except binascii.Error:
                signature = b""
            if dash != DASH or not name or len(signature) < 5:
                raise CheckpointError(f"not a checkpoint: '{line[:40]}' is not a signature line")
            signed_by.append(f"{name}+{signature[:4].hex()}")
            if name != self.name or signature[:4] != self.key_id:
                continue  # another key's signature: signed notes may carry several
            try:
                self._key.verify(signature[4:], text.encode())
            except InvalidSignature:
                raise CheckpointError(
                    f"the signature of {self.label} does not verify: the checkpoint was "
                    "altered after it was signed"
                ) from None
            return _read(text, note)
        raise CheckpointError(f"not signed by {self.label}; it is signed by {', '.join(signed_by)}")


def _read(text: str, note: str) -> Checkpoint:
    lines = text.rstrip("\n").split("\n")
    if len(lines) < 3 or not lines[0] or not SIZE.match(lines[1]):
        raise CheckpointError("not a checkpoint: it needs an origin, a size and a root hash")
    try:
        root = base64.b64decode(lines[2], validate=True)
    except binascii.Error:
        root = b""
    if len(root) != 32:
        raise CheckpointError("not a checkpoint: the root hash is not 32 bytes of base64")
    time = next((line[len(TIME) :] for line in lines[3:] if line.startswith(TIME)), None)
    return Checkpoint(lines[0], int(lines[1]), root.hex(), time, note)
