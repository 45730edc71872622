#!/usr/bin/python3
"""Checks a tenant's export of the entitlement ledger without trusting the ledger.

usage: verify_export.py EXPORT --key PUBKEY_FILE [--since CHECKPOINT_FILE]

EXPORT is what `ledger-replay export --tenant T --format jsonl` (or GET
/v1/tenants/T/export?format=jsonl) wrote; PUBKEY_FILE the PEM key `ledger-replay pubkey`
printed, pinned out of band; CHECKPOINT_FILE an older signed checkpoint of the tenant.
It re-hashes every event's stored bytes, checks the chain, gap-free versions, the
manifest's count and head (truncation), the signed checkpoint the export carries, and
that the history extends the older checkpoint. The format: docs/VERIFYING.md.

Exit 0: verified. 1: the export is not what the ledger signed (the first bad event is
named). 2: bad usage (a file missing or not what it should be).

Python 3 and python3-cryptography (Ed25519) only; none of the ledger's code.
"""

import argparse
import base64
import binascii
import hashlib
import json
import struct
import sys

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

SIGNATURE_MARK = "\u2014 "  # an em dash and a space start a signature line
ZERO_HASH = bytes(32)


class Bad(Exception):
    """The export fails verification: says where and why."""


class Usage(Exception):
    """Bad usage: a file missing or unreadable."""


# ---------------------------------------------------------------- Cap'n Proto, canonical

# The envelope of schema Event (ledger/schema/event.capnp; `capnp compile -ocapnp` prints
# these offsets): data section words and pointer indexes.
DATA_POSITION, DATA_VERSION = 0, 1
PTR_TENANT, PTR_PREV_HASH, PTR_HASH = 0, 5, 6


def _signed30(value):
    value &= 0x3FFFFFFF
    return value - (1 << 30) if value & (1 << 29) else value


class Event:
    """The envelope fields of one stored event, read from its canonical bytes."""

    def __init__(self, data):
        if len(data) % 8 != 0 or len(data) < 8:
            raise ValueError("not whole 8-byte words")
        self.data = data
        root = self._word(0)
        if root & 3 != 0:
            raise ValueError("the root is not a struct")
        self.start = 1 + _signed30(root >> 2)
        self.data_words = (root >> 32) & 0xFFFF
        self.ptr_count = (root >> 48) & 0xFFFF
        if self.start < 1 or (self.start + self.data_words + self.ptr_count) * 8 > len(data):
            raise ValueError("the root struct is outside the bytes")
        self.position = self._u64(DATA_POSITION)
        self.version = self._u64(DATA_VERSION)
        self.tenant = self._blob(PTR_TENANT)[0].rstrip(b"\0").decode("utf-8")
        self.prev_hash = self._blob(PTR_PREV_HASH)[0]
        self.hash, self.hash_offset = self._blob(PTR_HASH)
        if len(self.prev_hash) != 32 or len(self.hash) != 32:
            raise ValueError("prev_hash and hash are not 32 bytes")

    def _word(self, index):
        return struct.unpack_from("<Q", self.data, index * 8)[0]

    def _u64(self, field):
        return self._word(self.start + field) if field < self.data_words else 0

    def _blob(self, index):
        """A Text or Data field: its bytes and their offset in the event's bytes."""
        if index >= self.ptr_count:
            return b"", 0
        at = self.start + self.data_words + index
        pointer = self._word(at)
        if pointer == 0:
            return b"", 0
        if pointer & 3 != 1 or (pointer >> 32) & 7 != 2:
            raise ValueError(f"pointer {index} is not a byte list")
        offset = (at + 1 + _signed30(pointer >> 2)) * 8
        count = pointer >> 35
        if offset < 8 or offset + count > len(self.data):
            raise ValueError(f"pointer {index} points outside the bytes")
        return self.data[offset:offset + count], offset

    def computed_hash(self):
        """SHA-256(prev_hash || the bytes with the hash field zeroed)."""
        zeroed = self.data[:self.hash_offset] + ZERO_HASH + self.data[self.hash_offset + 32:]
        return hashlib.sha256(self.prev_hash + zeroed).digest()


# ---------------------------------------------------------------- signed notes

def key_name(public_raw):
    return "ledger-" + hashlib.sha256(public_raw).hexdigest()[:16]


def key_id(name, public_raw):
    return hashlib.sha256(name.encode() + b"\n" + b"\x01" + public_raw).digest()[:4]


def open_checkpoint(note, public_key, what):
    """(tenant, version, hash) of a signed note, after checking its signature."""
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    name = key_name(raw)
    body, sep, signatures = note.partition("\n\n")
    lines = body.split("\n")
    if not sep or len(lines) < 3 or not signatures.endswith("\n"):
        raise Bad(f"{what}: not a signed note")
    signature = None
    for line in signatures[:-1].split("\n"):
        prefix = SIGNATURE_MARK + name + " "
        if line.startswith(prefix):
            try:
                decoded = base64.b64decode(line[len(prefix):], validate=True)
            except binascii.Error:
                continue
            if len(decoded) == 68 and decoded[:4] == key_id(name, raw):
                signature = decoded[4:]
    if signature is None:
        raise Bad(f"{what}: no signature by the pinned key ({name})")
    try:
        public_key.verify(signature, (body + "\n").encode())
    except InvalidSignature:
        raise Bad(f"{what}: the signature does not match the note") from None
    origin, version, head = lines[0], lines[1], lines[2]
    if not origin.startswith(name + "/") or not version.isdigit():
        raise Bad(f"{what}: origin or version line malformed")
    try:
        digest = base64.b64decode(head, validate=True)
    except binascii.Error:
        digest = b""
    if len(digest) != 32:
        raise Bad(f"{what}: the head hash is not base64 SHA-256")
    return origin[len(name) + 1:], int(version), digest


# ---------------------------------------------------------------- the export

def read_export(path):
    try:
        with open(path, encoding="utf-8") as f:
            lines = [line for line in f.read().split("\n") if line]
    except (OSError, UnicodeDecodeError) as e:
        raise Usage(f"{path}: {e}") from None
    if not lines:
        raise Bad("the export is empty")
    try:
        manifest = json.loads(lines[0])["manifest"]
        events = [json.loads(line) for line in lines[1:]]
    except (ValueError, KeyError, TypeError):
        raise Bad("the first line is not a manifest, or a line is not JSON") from None
    return manifest, events


def check_events(manifest, lines):
    """Re-hashes and chains every event; returns {version: hash}."""
    tenant = manifest.get("tenant")
    expected_version = manifest.get("first_version")
    previous = bytes.fromhex(manifest.get("prev_hash") or "")
    hashes = {}
    for line in lines:
        where = f"event at version {line.get('version')} (position {line.get('position')})"
        try:
            event = Event(base64.b64decode(line["bytes"], validate=True))
        except (KeyError, TypeError, ValueError, binascii.Error, struct.error) as e:
            raise Bad(f"{where}: its bytes cannot be read: {e}") from None
        where = f"event at version {event.version} (position {event.position})"
        if event.tenant != tenant:
            raise Bad(f"{where}: of tenant '{event.tenant}', not '{tenant}'")
        if event.version != expected_version:
            raise Bad(f"{where}: version {expected_version} expected (a gap or a reorder)")
        if event.prev_hash != previous:
            raise Bad(f"{where}: prev_hash is not the previous event's hash")
        if event.computed_hash() != event.hash:
            raise Bad(f"{where}: its bytes do not hash to its hash (altered)")
        claims = (line.get("version"), line.get("position"), line.get("hash"),
                  line.get("prev_hash"))
        if claims != (event.version, event.position, event.hash.hex(), event.prev_hash.hex()):
            raise Bad(f"{where}: the JSON fields differ from the stored bytes")
        hashes[event.version] = event.hash
        previous = event.hash
        expected_version += 1
    return hashes


def verify(export_path, key_path, since_path):
    try:
        with open(key_path, "rb") as f:
            public_key = serialization.load_pem_public_key(f.read())
    except (OSError, ValueError) as e:
        raise Usage(f"{key_path}: {e}") from None
    if not isinstance(public_key, Ed25519PublicKey):
        raise Usage(f"{key_path}: not an Ed25519 public key")
    since = None
    if since_path:
        try:
            with open(since_path, encoding="utf-8") as f:
                since = f.read()
        except (OSError, UnicodeDecodeError) as e:
            raise Usage(f"{since_path}: {e}") from None

    manifest, lines = read_export(export_path)
    if not lines or manifest.get("count", 0) == 0:
        raise Bad("the export holds no events")
    if not isinstance(manifest.get("first_version"), int) or manifest.get("prev_hash") is None:
        raise Bad("the manifest has no first version or prev_hash")
    hashes = check_events(manifest, lines)
    last = max(hashes)
    if len(lines) != manifest["count"] or last != manifest.get("last_version"):
        raise Bad(f"the manifest says {manifest['count']} events to version "
                  f"{manifest.get('last_version')}; the export holds {len(lines)} to version "
                  f"{last} (cut off or padded)")
    if hashes[last].hex() != manifest.get("head_hash"):
        raise Bad("the manifest's head hash is not the last event's")

    if not manifest.get("checkpoint"):
        raise Bad("the export carries no signed checkpoint")
    tenant, version, digest = open_checkpoint(manifest["checkpoint"], public_key,
                                              "the export's checkpoint")
    if tenant != manifest["tenant"]:
        raise Bad(f"the export's checkpoint is of tenant '{tenant}'")
    if version not in hashes:
        raise Bad(f"the export's checkpoint is at version {version}, not in the export")
    if hashes[version] != digest:
        raise Bad(f"event at version {version}: its hash is not the signed checkpoint's")
    report = [f"ok: {len(lines)} events of '{tenant}', versions {manifest['first_version']}"
              f"..{last}, chain intact, checkpoint at version {version} signed by the pinned key"]

    if since is not None:
        old_tenant, old_version, old_digest = open_checkpoint(since, public_key,
                                                              "the older checkpoint")
        if old_tenant != tenant:
            raise Bad(f"the older checkpoint is of tenant '{old_tenant}'")
        if old_version > last:
            raise Bad(f"the history ends at version {last}, before the older checkpoint's "
                      f"{old_version} (truncated)")
        if old_version not in hashes:
            raise Bad(f"the older checkpoint's version {old_version} is before the export")
        if hashes[old_version] != old_digest:
            raise Bad(f"event at version {old_version}: the history was rewritten since the "
                      f"older checkpoint")
        report.append(f"ok: the history extends the older checkpoint (version {old_version})")
    return report


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("export")
    parser.add_argument("--key", required=True, help="the pinned PEM public key")
    parser.add_argument("--since", help="an older signed checkpoint of the tenant")
    args = parser.parse_args()  # exits 2 on bad usage
    try:
        for line in verify(args.export, args.key, args.since):
            print(line)
        return 0
    except Usage as e:
        print(f"verify_export: {e}", file=sys.stderr)
        return 2
    except Bad as e:
        print(f"verify_export: FAILED: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
