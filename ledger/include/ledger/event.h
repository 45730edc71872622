// Events as the store writes and reads them: drafts built by the domain, and stored
// events decoded from their canonical bytes.
#pragma once

#include <capnp/message.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "ledger/event.capnp.h"
#include "ledger/sha256.h"
#include "ledger/status.h"
#include "ledger/time.h"

namespace ledger {

// Schema version written into every new event's envelope.
inline constexpr uint16_t kEventSchemaVersion = 1;

using PayloadKind = schema::Event::Payload::Which;

// snake_case name of a payload variant ("seat_assigned"); "unknown" for variants this
// build does not know. Derived from the Cap'n Proto schema, so it never drifts from it.
std::string_view EventTypeName(PayloadKind kind);

// A schema name in snake_case: "seatAssigned" → "seat_assigned".
std::string SnakeCase(std::string_view camel);

// The payload variant named `name` (snake_case), or false if there is none.
bool EventKindFromName(std::string_view name, PayloadKind* kind);

// Limits for decoding stored events (traversal and nesting), shared by every reader.
capnp::ReaderOptions StoredReaderOptions();

// True if `event`'s stored hash is SHA-256(prev_hash || `bytes` with the hash zeroed),
// where `bytes` are the canonical bytes `event` reads from.
bool EventHashMatches(schema::Event::Reader event, std::string_view bytes);

// An event the domain wants appended. The caller sets the payload (and the envelope
// fields below); the store fills position, version, ids, times and hashes.
// Move-only. Not thread-safe.
class EventDraft {
 public:
  EventDraft();
  EventDraft(EventDraft&&) noexcept = default;
  EventDraft& operator=(EventDraft&&) noexcept = default;

  // The payload to fill in, e.g. `draft.payload().initSeatAssigned().setUser("bob")`.
  schema::Event::Payload::Builder payload();
  // Read-only view of the whole event under construction.
  schema::Event::Reader reader() const;
  // The underlying message (the store completes the envelope in place).
  schema::Event::Builder root();
  // Bytes allocated for the message so far: a cheap upper bound of its encoded size.
  size_t AllocatedBytes() const;

  // Who caused it: a user id or "system".
  std::string actor;
  // Business time; 0 means "when recorded".
  Micros effective_at = 0;
  // Free text; required by the domain for backdated corrections.
  std::string reason;
  // 1-based index of another draft of the same command that caused this one (cascades:
  // e.g. the seat revocations a member removal causes, which precede it), or 0 for none.
  // The store turns it into that event's position.
  uint32_t caused_by = 0;

 private:
  std::unique_ptr<capnp::MallocMessageBuilder> message_;
};

// A stored event: its canonical bytes, aligned for Cap'n Proto, and a reader over them.
// Not thread-safe; cheap to move.
class StoredEvent {
 public:
  StoredEvent();
  ~StoredEvent();
  StoredEvent(StoredEvent&&) noexcept;
  StoredEvent& operator=(StoredEvent&&) noexcept;

  // Decodes canonical event bytes as written by the store. Corruption if they are not a
  // well-formed event (checked lazily by Cap'n Proto on field access beyond that).
  Status Parse(std::string_view bytes);

  schema::Event::Reader event() const { return root_; }
  uint64_t position() const { return root_.getPosition(); }
  uint64_t version() const { return root_.getVersion(); }
  PayloadKind kind() const { return root_.getPayload().which(); }
  std::string_view type_name() const { return EventTypeName(kind()); }

  // The canonical bytes as stored.
  std::string_view bytes() const;

  // Recomputes SHA-256(prev_hash || canonical bytes with the hash zeroed) and compares
  // it with the stored hash. False if they differ.
  bool HashMatches() const;

 private:
  struct State;  // aligned copy of the bytes and the reader; heap-held so moves are safe
  std::unique_ptr<State> state_;
  size_t size_ = 0;
  schema::Event::Reader root_;
};

// Encodes a complete event canonically, computing its hash over the canonical bytes with
// the hash field zeroed: hash = SHA-256(prev_hash || bytes). `event` must have prevHash
// set; its hash field is overwritten. Returns the bytes to store; *hash gets the digest.
std::string EncodeCanonicalEvent(schema::Event::Builder event, Digest* hash);

}  // namespace ledger
