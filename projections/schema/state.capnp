# Folded tenant state as stored by the projections: snapshots (the whole tenant) and view
# rows (one member, group or subscription). Mirrors commands/state.h; Cap'n Proto rules
# for evolution: add fields with new ordinals, never renumber.
@0xb1f0c2d3e4a59687;

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("projections::schema");

enum MemberStatus {
  invited @0;
  active @1;
  removed @2;
}

struct Member {
  user @0 :Text;
  email @1 :Text;
  name @2 :Text;
  role @3 :UInt16;  # ledger::schema::Role ordinal
  status @4 :MemberStatus;
  invitedAt @5 :Int64;
}

struct Group {
  group @0 :Text;
  name @1 :Text;
  members @2 :List(Text);
}

struct PendingChange {
  change @0 :Text;
  seats @1 :UInt32;
  edition @2 :Text;
  effectiveAt @3 :Int64;
}

struct SeatSince {
  user @0 :Text;
  version @1 :UInt64;
}

# A lease in use (R19).
struct LeaseRow {
  lease @0 :Text;
  user @1 :Text;
  device @2 :Text;
  grantedAt @3 :Int64;
  expiresAt @4 :Int64;
}

struct Subscription {
  subscription @0 :Text;
  product @1 :Text;
  edition @2 :Text;
  seats @3 :UInt32;
  seatModel @4 :UInt16;  # ledger::schema::SeatModel ordinal
  periodStart @5 :Int64;
  periodEnd @6 :Int64;
  autoRenew @7 :Bool;
  overage @8 :UInt16;  # ledger::schema::Overage ordinal
  maxGroups @9 :UInt32;
  addOnOf @10 :Text;
  trialEnd @11 :Int64;
  expired @12 :Bool;
  purchaseOrder @13 :Text;
  leaseTtlSeconds @14 :UInt32;
  direct @15 :List(Text);
  groups @16 :List(Text);
  seatSince @17 :List(SeatSince);
  pendingDecrease @18 :PendingChange;   # absent when none
  pendingDowngrade @19 :PendingChange;  # absent when none
  # Derived at projection time, for readers of a view row (not used when decoding a state).
  assigned @20 :List(Text);     # unused: view rows keep holders in rows of their own
  violations @21 :List(Text);
  assignedCount @22 :UInt32;
  leases @23 :List(LeaseRow);
}

struct TenantState {
  tenant @0 :Text;
  exists @1 :Bool;
  version @2 :UInt64;
  position @3 :UInt64;
  at @4 :Int64;
  owner @5 :Text;
  members @6 :List(Member);
  groups @7 :List(Group);
  subscriptions @8 :List(Subscription);
  maxEffectiveAt @9 :Int64;  # latest effective_at folded (snapshots: usable for as-of >= it)
}
