# The replica protocol between regions and the journal records on disk.
#
# Compatibility: fields are only added, with new ordinals. A component value travels as the bytes
# of its CRDT encoding (crdt.capnp), tagged with its component id; the receiver knows each id's
# CRDT type from configuration and refuses a value that does not decode as that type.
@0x82d49f3e007b2d23;

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("worldline::schema");

# One component of one entity: the unit of state and of replication.
struct Entry {
  entity @0 :UInt64;
  component @1 :UInt16;
  value @2 :Data;        # crdt.capnp encoding of the component's CRDT type (a delta or a state)
}

# A part of a delta interval (Almeida et al. 2018, Algorithm 2) or of a full-state transfer. An
# interval too large for one message is split into parts; every part carries the sequence number
# to acknowledge and its place among the parts, and the receiver acknowledges only once it has
# joined every part (each part is joined on arrival: any subset of deltas is safe to join).
struct DeltaBatch {
  seq @0 :UInt64;        # the sender's next sequence number: ack this once all parts are joined
  part @1 :UInt32;       # 0-based
  parts @2 :UInt32;      # >= 1
  fullState @3 :Bool;    # the sender is sending its whole state (receiver was behind the horizon)
  entries @4 :List(Entry);
  transmission @5 :UInt64;
  # Which sending of an interval this part belongs to (the sender numbers its transmissions to each
  # peer). Two transmissions may carry the same seq with different content (an ack moved the
  # interval's start; a state diff replaced an interval): parts of two transmissions never complete
  # one ack. 0 from a sender older than this field: the receiver then tells them apart by seq only.
}

struct KeyRef {
  entity @0 :UInt64;
  component @1 :UInt16;
}

struct KeyDigest {
  entity @0 :UInt64;
  component @1 :UInt16;
  hash @2 :UInt64;       # FNV-1a of the value's encoding
}

struct GossipMessage {
  origin @0 :UInt32;     # the sending replica (checked against the authenticated peer)
  union {
    delta @1 :DeltaBatch;
    ack @2 :UInt64;      # "I have joined everything you numbered below this"
    heartbeat @3 :Void;
    resync @4 :Void;     # "I lost state: send me your full state"
    digest @5 :List(KeyDigest);  # "this is what I hold: send me every key where yours differs"
    digestRequest @6 :Void;      # "you are behind my buffer: tell me what you hold"
    fetch @7 :List(KeyRef);      # "send me these keys" (answered with a delta batch, seq 0)
  }
}

# LMDB journal: one record per committed delta group (local, or received and joined).
struct JournalRecord {
  seq @0 :UInt64;
  entries @1 :List(Entry);
}

# RPC. The bootstrap capability is a login: a peer proves it knows the cluster's shared secret by
# HMAC-SHA256 over a fresh server nonce and its replica id, and only then receives a session.
interface ReplicaLogin {
  challenge @0 () -> (nonce :Data);
  login @1 (replica :UInt32, nonce :Data, proof :Data) -> (session :ReplicaSession);
}

interface ReplicaSession {
  # Delivers one encoded GossipMessage. Returns once the message has been handled.
  deliver @0 (message :Data) -> ();
}
