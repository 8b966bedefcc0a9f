# The client protocol's binary form: WebSocket subprotocol `worldline.capnp`. Every binary frame
# is one message in Cap'n Proto's packed encoding — a ClientMessage from the game client, a
# ServerMessage from the node. The messages, their fields and their meaning are exactly those of
# the JSON form (`worldline.json`); docs/protocol.md describes both side by side.
#
# Compatibility: fields are only added, with new ordinals; a node ignores fields it does not know
# (an older node reading a newer client's message) and a client should do the same. A new kind of
# message is a new union member: a node that does not know it answers `error unknown_type`.
@0xc3a1f27d9e4b5a61;

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("worldline::schema::client");

struct ClientMessage {
  union {
    hello @0 :Hello;
    action @1 :Action;
    ping @2 :Ping;
  }
}

struct Hello {
  token @0 :Text;        # a signed access token (JWT): sub = player id, exp, role
  resume @1 :Resume;     # set when reconnecting: the highest seq the client saw acknowledged
}

struct Resume {
  lastAck @0 :UInt64;
}

struct Action {
  seq @0 :UInt64;        # >= 1, increasing per player across sessions
  kind @1 :Text;         # "move", "attack", "pickup", "interact", "chat"
  t @2 :UInt64;          # the client's clock, ms
  args @3 :Args;
  after @4 :Dependency;  # optional: an action of another player this one must follow
  seen @5 :UInt64;       # the tick of the newest state frame the client has read; 0: not said
}

struct Args {
  x @0 :Float64;
  y @1 :Float64;
  z @2 :Float64;
  target @3 :UInt64;     # an entity id; 0 = none
  text @4 :Text;         # chat
  aim @5 :Direction;     # attack, move (optional): where the player aims; unset = not said
}

# A direction in world axes, any non-zero finite length (the node scales it to length 1); NaN,
# infinity or zero length is `error bad_field`. Added after the first release: an older client
# never sets it, and an older node ignores it.
struct Direction {
  x @0 :Float64;
  y @1 :Float64;
  z @2 :Float64;
}

struct Dependency {
  actor @0 :UInt64;
  seq @1 :UInt64;
}

struct Ping {
  t @0 :UInt64;          # echoed in the pong
}

struct ServerMessage {
  union {
    welcome @0 :Welcome;
    state @1 :State;
    reject @2 :Reject;
    error @3 :Error;
    pong @4 :Pong;
  }
}

struct Welcome {
  player @0 :UInt64;
  region @1 :Text;
  tickHz @2 :Float64;
  ack @3 :UInt64;        # the resume's last_ack echoed (0 on a fresh session)
}

struct State {
  tick @0 :UInt64;
  ack @1 :UInt64;        # the highest seq of this client's actions processed
  entities @2 :List(EntityState);
  removed @3 :List(UInt64);  # entity ids that left the client's area of interest
}

struct EntityState {
  id @0 :UInt64;
  x @1 :Float64;
  y @2 :Float64;
  z @3 :Float64;
  health @4 :Int64;     # 0 for an item
  item @5 :Bool;        # an item on the ground, which `pickup` targets
  owner @6 :UInt64;     # an item's owner once claimed; 0 while unclaimed (players are >= 1)
}

struct Reject {
  seq @0 :UInt64;
  reason @1 :Text;       # docs/protocol.md lists every reason
  detail @2 :Text;
}

struct Error {
  code @0 :UInt16;       # 4001..4050, docs/protocol.md
  name @1 :Text;
  message @2 :Text;
  seq @3 :UInt64;        # the action's seq, when the frame was an action whose seq could be read; 0: none
}

struct Pong {
  t @0 :UInt64;
  serverMs @1 :UInt64;
}
