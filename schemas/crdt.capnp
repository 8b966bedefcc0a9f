# Wire and disk encodings of worldline's CRDT values. Every replicated component value, delta
# and snapshot record is one of the root structs below, written with Cap'n Proto's packed encoding.
#
# Compatibility: fields are only ever added, with new ordinals; no field is renamed to mean
# something else or removed. A reader that finds a union member it does not know rejects the value
# (it cannot join what it cannot read) rather than guessing. Counters are unsigned and only grow;
# a decoder validates every invariant listed with the C++ type before the value may be joined.
@0x809999c3c2abe657;

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("worldline::schema");

struct Hlc {
  physicalMs @0 :UInt64;
  logical @1 :UInt32;
  node @2 :UInt32;
}

struct Dot {
  replica @0 :UInt32;
  counter @1 :UInt64;   # >= 1
}

# One (replica, count) pair: a version-vector entry or a counter contribution.
struct ReplicaCount {
  replica @0 :UInt32;
  count @1 :UInt64;     # >= 1; zero entries are omitted
}

struct CausalContext {
  versions @0 :List(ReplicaCount);   # strictly increasing replica ids
  cloud @1 :List(Dot);               # dots past the version vector
}

struct Vec3 {
  x @0 :Float64;
  y @1 :Float64;
  z @2 :Float64;
}

struct Authority {
  epoch @0 :UInt64;
  region @1 :UInt32;
}

# A leaf value: register value, set element or map key. Floats must be finite.
struct Scalar {
  union {
    int64 @0 :Int64;
    uint64 @1 :UInt64;
    float64 @2 :Float64;
    bool @3 :Bool;
    text @4 :Text;
    vec3 @5 :Vec3;
    authority @6 :Authority;
  }
}

# ---- state-based counters ------------------------------------------------------------------
struct GCounter {
  entries @0 :List(ReplicaCount);
}

struct PNCounter {
  positive @0 :GCounter;
  negative @1 :GCounter;
}

struct Transfer {
  from @0 :UInt32;
  to @1 :UInt32;
  amount @2 :UInt64;    # cumulative, >= 1
}

struct BoundedCounter {
  bound @0 :Int64;
  increments @1 :List(ReplicaCount);
  decrements @2 :List(ReplicaCount);
  transfers @3 :List(Transfer);
}

# ---- registers and merge policies ----------------------------------------------------------
struct LwwRegister {
  stamp @0 :Hlc;
  value @1 :Scalar;     # absent: never written
}

# MaxWins / MinWins.
struct Extremum {
  value @0 :Scalar;     # absent: never written
}

struct FirstClaim {
  at @0 :Hlc;
  claimant @1 :Scalar;  # absent: unclaimed
}

# ---- dot-based (causal) CRDTs: MvRegister, AwOrSet, CausalCounter, OrMap --------------------
struct DotValue {
  dot @0 :Dot;
  value @1 :Scalar;
}

struct DotMapEntry {
  key @0 :Scalar;
  value @1 :DotStore;
  # Compact form of the commonest entry, an OR-set element tagged by one dot: `value` is absent and
  # the dot is inline (dotCounter >= 1). Saves about 15 bytes per element, packed.
  dotReplica @2 :UInt32;
  dotCounter @3 :UInt64;
}

struct DotStore {
  union {
    dotSet @0 :List(Dot);
    dotFun @1 :List(DotValue);
    dotMap @2 :List(DotMapEntry);
  }
}

struct Causal {
  store @0 :DotStore;
  context @1 :CausalContext;
}
