# ledgerd's Cap'n Proto protocol (DESIGN 6.3): messages in the standard stream framing
# (capnp::writeMessage / readMessage) over TCP or TLS, port 7700 by default.
#
# A client sends Requests and reads Responses. Each Response carries the id of its
# Request; responses to different requests may arrive in any order (a check is answered
# at once, a command only once durable), so a client may pipeline requests. Events read
# with `follow` keep arriving as `events` responses with that request's id until the
# connection closes.
#
# Limits (ledgerd answers an `error` response, code "bad_request", then closes): frames
# larger than 4 MiB or with more than 64 segments, messages deeper than 64 pointers or
# larger than the frame, more than 1000 commands in one submit. Requests beyond the
# per-connection in-flight limit are answered "unavailable" without being run.
#
# Evolution: add fields and union variants with new ordinals only.

@0xef325621d05c1a11;

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("server::wire");

struct Request {
  id @0 :UInt64;       # chosen by the client, echoed in every response to this request
  token @1 :Text;      # bearer token (the secret, not its digest)
  union {
    submit @2 :List(Text);          # command objects as JSON (DESIGN 6.1), in order
    check @3 :CheckRequest;
    state @4 :StateRequest;
    readEvents @5 :ReadEventsRequest;
    health @6 :Void;
    lease @7 :LeaseRequest;         # floating seats (R19) without JSON
    backup @8 :Void;                # a backup into ledgerd's --backup-dir (admin tokens)
  }
  # Set by a node that follows the log when it forwards a submit or lease to the node
  # that writes it: the receiver runs it or refuses it, never forwards it again.
  forwarded @9 :Bool;
}

struct CheckRequest {
  tenant @0 :Text;
  user @1 :Text;
  product @2 :Text;
  at @3 :Text;         # RFC 3339; empty: now
}

# A floating-seat command: the same command (and rules, idempotency, rejection log) as a
# `checkout`, `heartbeat` or `checkin` object sent with `submit`.
struct LeaseRequest {
  tenant @0 :Text;
  actor @1 :Text;      # who acts; empty for a checkout: the user checks out for themselves
  id @2 :Text;         # the command id (R16); empty: the server generates one
  union {
    checkout @3 :LeaseCheckout;
    heartbeat @4 :Text;  # the lease to renew
    checkin @5 :Text;    # the lease to give back
  }
}

struct LeaseCheckout {
  subscription @0 :Text;  # a concurrent subscription
  user @1 :Text;
  device @2 :Text;
}

struct StateRequest {
  tenant @0 :Text;
}

struct ReadEventsRequest {
  from @0 :UInt64;     # first position (0 or 1: the beginning)
  tenant @1 :Text;     # empty: every tenant (needs a token for all tenants)
  follow @2 :Bool;     # after the log's end, keep sending new durable events
  limit @3 :UInt32;    # most events per response (0: 1000)
}

struct Response {
  id @0 :UInt64;
  union {
    results @1 :List(Text);         # one result object (DESIGN 6.1) per submitted command
    check @2 :CheckResult;
    state @3 :Text;                 # the state JSON of `ledger-replay state --json`
    events @4 :EventBatch;
    error @5 :Error;                # the request as a whole was refused
    health @6 :Health;
    lease @7 :LeaseResult;
    backup @8 :Text;                # the backup taken, as the JSON of POST /v1/admin/backup
  }
}

# The result of a LeaseRequest: the fields of its result object (DESIGN 6.1).
struct LeaseResult {
  status @0 :Text;        # accepted | duplicate | rejected
  id @1 :Text;            # the command id
  code @2 :Text;          # rejected: no_free_seat, not_found, forbidden, bad_request, ...
  message @3 :Text;       # rejected: names the field or rule at fault
  lease @4 :Text;         # the lease granted, renewed or given back
  subscription @5 :Text;
  expiresAt @6 :Text;     # RFC 3339: when the lease ends unless renewed; empty when not known
  version @7 :UInt64;     # the tenant stream's version after the command
  position @8 :UInt64;    # the log position after the command
}

struct CheckResult {
  allowed @0 :Bool;
  reason @1 :Text;        # empty when allowed
  subscription @2 :Text;  # the granting (or denying) subscription; may be empty
}

struct EventBatch {
  # Each stored event's exact bytes: a flat Cap'n Proto message of ledger.schema.Event
  # (ledger/schema/event.capnp) whose SHA-256 is the event's hash, so a client can verify
  # the chain itself.
  events @0 :List(Data);
  next @1 :UInt64;        # the position to read from next
  last @2 :UInt64;        # the log's last durable position when this batch was read
}

struct Error {
  code @0 :Text;          # unauthorized | forbidden | bad_request | unknown_tenant | unavailable
  message @1 :Text;       # names the field or limit at fault; never contains a token
}

struct Health {
  position @0 :UInt64;    # last durable position
}
