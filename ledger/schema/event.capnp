# The stored event: envelope plus one payload variant per domain event (DESIGN section 4).
#
# Evolution rules: add fields and union variants with new ordinals only; never renumber or
# retype. Readers must tolerate variants they do not know (payload.which() outside the
# enum they were compiled with).
#
# Times are microseconds since the Unix epoch, UTC. Position 0 and version 0 mean "none".

@0xde7a408dd91c6ee0;

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("ledger::schema");

enum Role {
  owner @0;
  admin @1;
  userManager @2;
  member @3;
}

enum SeatModel {
  named @0;
  concurrent @1;
}

enum Overage {
  lockAll @0;
  denyExcess @1;
  allow @2;
}

# R1, catalog.
struct TenantCreated { owner @0 :Text; ownerEmail @1 :Text; }
struct ProductDefined { product @0 :Text; editions @1 :List(Text); }

# R2, R3 members and roles.
struct MemberInvited { user @0 :Text; email @1 :Text; role @2 :Role; name @3 :Text; }
struct InvitationResent { user @0 :Text; }
struct InvitationAccepted { user @0 :Text; }
struct MemberRemoved { user @0 :Text; }
struct RoleChanged { user @0 :Text; from @1 :Role; to @2 :Role; }
struct OwnershipTransferred { from @0 :Text; to @1 :Text; previousOwnerRole @2 :Role; }

# R4 groups.
struct GroupCreated { group @0 :Text; name @1 :Text; }
struct GroupRenamed { group @0 :Text; name @1 :Text; }
struct GroupDeleted { group @0 :Text; }
struct GroupMemberAdded { group @0 :Text; user @1 :Text; }
struct GroupMemberRemoved { group @0 :Text; user @1 :Text; }

# R5, R11, R13, R19 subscriptions.
struct SubscriptionPurchased {
  subscription @0 :Text;
  product @1 :Text;
  edition @2 :Text;
  seats @3 :UInt32;
  seatModel @4 :SeatModel;
  periodStart @5 :Int64;
  periodEnd @6 :Int64;
  autoRenew @7 :Bool;
  overage @8 :Overage;
  maxGroups @9 :UInt32;       # 0 = no limit
  addOnOf @10 :Text;          # empty = not an add-on
  trialEnd @11 :Int64;        # 0 = not a trial
  leaseTtlSeconds @12 :UInt32; # concurrent model; 0 = default (900)
}

# R6 direct seats, R7 groups on subscriptions.
struct SeatAssigned { subscription @0 :Text; user @1 :Text; }
struct SeatRevoked { subscription @0 :Text; user @1 :Text; }
struct GroupAssigned { subscription @0 :Text; group @1 :Text; }
struct GroupUnassigned { subscription @0 :Text; group @1 :Text; }

# R8 resize.
struct SeatsIncreased { subscription @0 :Text; from @1 :UInt32; to @2 :UInt32; }
struct SeatDecreaseScheduled { subscription @0 :Text; seats @1 :UInt32; effectiveAt @2 :Int64; }
struct SeatsDecreased { subscription @0 :Text; from @1 :UInt32; to @2 :UInt32; }
struct ScheduledChangeCancelled { subscription @0 :Text; change @1 :Text; }

# R9 editions.
struct EditionUpgraded { subscription @0 :Text; from @1 :Text; to @2 :Text; }
struct EditionDowngradeScheduled { subscription @0 :Text; edition @1 :Text; effectiveAt @2 :Int64; }
struct EditionDowngraded { subscription @0 :Text; from @1 :Text; to @2 :Text; }

# R10 renewal, R11 trials, R12 purchase order.
struct RenewalCancelled { subscription @0 :Text; }
struct RenewalResumed { subscription @0 :Text; }
struct SubscriptionRenewed { subscription @0 :Text; periodStart @1 :Int64; periodEnd @2 :Int64; }
struct SubscriptionExpired { subscription @0 :Text; }
struct TrialConverted { subscription @0 :Text; edition @1 :Text; seats @2 :UInt32; }
struct TrialExpired { subscription @0 :Text; }
struct PurchaseOrderSet { subscription @0 :Text; purchaseOrder @1 :Text; }

# R19 concurrent seats.
struct LeaseGranted {
  subscription @0 :Text;
  user @1 :Text;
  device @2 :Text;
  lease @3 :Text;
  expiresAt @4 :Int64;
}
struct LeaseReleased { subscription @0 :Text; lease @1 :Text; }
struct LeaseExpired { subscription @0 :Text; lease @1 :Text; }

struct Event {
  position @0 :UInt64;       # global log position, from 1, gap-free
  tenant @1 :Text;           # stream; the catalog stream for product_defined
  version @2 :UInt64;        # tenant stream version, from 1, gap-free
  eventId @3 :Text;          # "<tenant>/<version>", unique forever
  commandId @4 :Text;        # the command that produced it
  causation @5 :UInt64;      # position of the event that caused it (cascades); 0 = none
  actor @6 :Text;            # user id or "system"
  recordedAt @7 :Int64;      # ledger time, non-decreasing across the log
  effectiveAt @8 :Int64;     # business time; < recordedAt only for backdated corrections
  reason @9 :Text;           # free text; required for backdated corrections
  schemaVersion @10 :UInt16;
  prevHash @11 :Data;        # 32 bytes; zeros for version 1
  hash @12 :Data;            # SHA-256(prevHash || canonical bytes with this field zeroed)

  payload :union {
    unknown @13 :Void;
    tenantCreated @14 :TenantCreated;
    productDefined @15 :ProductDefined;
    memberInvited @16 :MemberInvited;
    invitationResent @17 :InvitationResent;
    invitationAccepted @18 :InvitationAccepted;
    memberRemoved @19 :MemberRemoved;
    roleChanged @20 :RoleChanged;
    ownershipTransferred @21 :OwnershipTransferred;
    groupCreated @22 :GroupCreated;
    groupRenamed @23 :GroupRenamed;
    groupDeleted @24 :GroupDeleted;
    groupMemberAdded @25 :GroupMemberAdded;
    groupMemberRemoved @26 :GroupMemberRemoved;
    subscriptionPurchased @27 :SubscriptionPurchased;
    seatAssigned @28 :SeatAssigned;
    seatRevoked @29 :SeatRevoked;
    groupAssigned @30 :GroupAssigned;
    groupUnassigned @31 :GroupUnassigned;
    seatsIncreased @32 :SeatsIncreased;
    seatDecreaseScheduled @33 :SeatDecreaseScheduled;
    seatsDecreased @34 :SeatsDecreased;
    scheduledChangeCancelled @35 :ScheduledChangeCancelled;
    editionUpgraded @36 :EditionUpgraded;
    editionDowngradeScheduled @37 :EditionDowngradeScheduled;
    editionDowngraded @38 :EditionDowngraded;
    renewalCancelled @39 :RenewalCancelled;
    renewalResumed @40 :RenewalResumed;
    subscriptionRenewed @41 :SubscriptionRenewed;
    subscriptionExpired @42 :SubscriptionExpired;
    trialConverted @43 :TrialConverted;
    trialExpired @44 :TrialExpired;
    purchaseOrderSet @45 :PurchaseOrderSet;
    leaseGranted @46 :LeaseGranted;
    leaseReleased @47 :LeaseReleased;
    leaseExpired @48 :LeaseExpired;
  }
}

# A rejected command, kept in the rejection log (R3) for support.
struct Rejection {
  tenant @0 :Text;
  commandId @1 :Text;
  commandType @2 :Text;
  actor @3 :Text;
  code @4 :Text;
  message @5 :Text;
  at @6 :Int64;
  command @7 :Text;          # the command as submitted (JSON), for diagnosis
}
