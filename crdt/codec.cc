// Cap'n Proto side of the CRDT codec: builds and reads the structs of schemas/crdt.capnp with the
// packed encoding, and validates what it reads.
#include "crdt/codec.h"

#include <kj/exception.h>

#include <cmath>
#include <set>

#include "schemas/crdt.capnp.h"
#include "schemas/packed.h"

namespace worldline::crdt {
namespace codec_detail {
namespace {

namespace s = ::worldline::schema;

// No real replica reaches 2^62 events or units; refusing more keeps every sum far from overflow
// and every "next dot" representable.
constexpr std::uint64_t kMaxCounter = std::uint64_t{1} << 62;

Error decode_error(std::string what) {
  return make_error(ErrorCode::kDecode, std::move(what));
}
Error invalid(std::string what) {
  return make_error(ErrorCode::kInvalidState, std::move(what));
}

// The builder's first segment, in words, for registers and counters: their encodings are a few
// dozen words, and the default first segment (1 024 words, zeroed) cost more than the encoding.
// A larger value grows further segments as it needs them.
constexpr unsigned kFirstSegmentWords = 64;

std::string finish(capnp::MallocMessageBuilder& message) {
  return schema::to_packed_bytes(message);
}

// Builds a register or a counter with `build(message)` in a builder whose first segment is this
// thread's reusable scratch space (zeroed, and zeroed again by the builder when it is done), and
// packs it: encoding one allocates nothing but its result. A nested use — none is expected — gets
// a segment of its own.
struct Scratch {
  capnp::word words[kFirstSegmentWords] = {};
  bool in_use = false;
};
thread_local Scratch t_scratch;

template <class Build>
std::string encode_small(Build&& build) {
  if (t_scratch.in_use) {
    capnp::MallocMessageBuilder message(kFirstSegmentWords);
    build(message);
    return finish(message);
  }
  t_scratch.in_use = true;
  struct Release {
    ~Release() { t_scratch.in_use = false; }
  } release;  // destroyed after `message`, which zeroes the scratch space first
  capnp::MallocMessageBuilder message(kj::arrayPtr(t_scratch.words, kFirstSegmentWords));
  build(message);
  return finish(message);
}

// Reads a packed message of root type R and hands its reader to `read`, turning every Cap'n Proto
// exception (truncation, bad pointers, limits, trailing bytes) into a kDecode error.
template <class R, class T, class Fn>
Result<T> read_root(std::string_view bytes, const char* type_name, Fn&& read) {
  if (bytes.empty()) return decode_error(std::string(type_name) + ": empty input");
  try {
    schema::PackedReader reader(bytes);
    return read(reader.root<R>());
  } catch (const kj::Exception& e) {
    return decode_error(std::string(type_name) + ": " + e.getDescription().cStr());
  }
}

// ---- leaves ------------------------------------------------------------------------------------
void put_hlc(s::Hlc::Builder b, const Hlc& h) {
  b.setPhysicalMs(h.physical_ms);
  b.setLogical(h.logical);
  b.setNode(h.node);
}
Hlc get_hlc(s::Hlc::Reader r) {
  return Hlc{r.getPhysicalMs(), r.getLogical(), r.getNode()};
}

void put_scalar(s::Scalar::Builder b, const Scalar& v) {
  struct Visitor {
    s::Scalar::Builder b;
    void operator()(std::int64_t x) { b.setInt64(x); }
    void operator()(std::uint64_t x) { b.setUint64(x); }
    void operator()(double x) { b.setFloat64(x); }
    void operator()(bool x) { b.setBool(x); }
    void operator()(const std::string& x) { b.setText(capnp::Text::Reader(x.data(), x.size())); }
    void operator()(const Vec3& x) {
      auto v = b.initVec3();
      v.setX(x.x);
      v.setY(x.y);
      v.setZ(x.z);
    }
    void operator()(const Authority& x) {
      auto a = b.initAuthority();
      a.setEpoch(x.epoch);
      a.setRegion(x.region);
    }
  };
  std::visit(Visitor{b}, v);
}

Result<Scalar> get_scalar(s::Scalar::Reader r) {
  switch (r.which()) {
    case s::Scalar::INT64:
      return Scalar{r.getInt64()};
    case s::Scalar::UINT64:
      return Scalar{r.getUint64()};
    case s::Scalar::FLOAT64:
      if (!std::isfinite(r.getFloat64())) return invalid("non-finite float64 value");
      return Scalar{r.getFloat64()};
    case s::Scalar::BOOL:
      return Scalar{r.getBool()};
    case s::Scalar::TEXT: {
      auto t = r.getText();
      return Scalar{std::string(t.begin(), t.size())};
    }
    case s::Scalar::VEC3: {
      auto v = r.getVec3();
      Vec3 out{v.getX(), v.getY(), v.getZ()};
      if (!std::isfinite(out.x) || !std::isfinite(out.y) || !std::isfinite(out.z)) {
        return invalid("non-finite vec3 component");
      }
      return Scalar{out};
    }
    case s::Scalar::AUTHORITY: {
      auto a = r.getAuthority();
      return Scalar{Authority{a.getEpoch(), a.getRegion()}};
    }
  }
  return decode_error("unknown scalar kind " + std::to_string(static_cast<int>(r.which())));
}

template <class Map>
void put_counts(capnp::List<s::ReplicaCount>::Builder list, const Map& m) {
  unsigned i = 0;
  for (const auto& [r, n] : m) {
    list[i].setReplica(r);
    list[i].setCount(n);
    ++i;
  }
}

Result<std::map<ReplicaId, std::uint64_t>> get_counts(capnp::List<s::ReplicaCount>::Reader list,
                                                      const char* what) {
  std::map<ReplicaId, std::uint64_t> out;
  for (auto e : list) {
    if (e.getCount() == 0 || e.getCount() > kMaxCounter) {
      return invalid(std::string(what) + ": count " + std::to_string(e.getCount()) +
                     " out of range for replica " + std::to_string(e.getReplica()));
    }
    if (!out.emplace(e.getReplica(), e.getCount()).second) {
      return invalid(std::string(what) + ": duplicate replica " + std::to_string(e.getReplica()));
    }
  }
  return out;
}

// ---- causal context and stores ----------------------------------------------------------------
void put_context(s::CausalContext::Builder b, const CausalContext& cc) {
  put_counts(b.initVersions(cc.versions().size()), cc.versions());
  auto cloud = b.initCloud(cc.cloud().size());
  unsigned i = 0;
  for (const Dot& d : cc.cloud()) {
    cloud[i].setReplica(d.replica);
    cloud[i].setCounter(d.counter);
    ++i;
  }
}

Result<CausalContext> get_context(s::CausalContext::Reader r) {
  auto versions = get_counts(r.getVersions(), "causal context versions");
  if (!versions) return versions.error();
  std::set<Dot> cloud;
  for (auto d : r.getCloud()) {
    if (d.getCounter() == 0 || d.getCounter() > kMaxCounter) {
      return invalid("causal context: dot counter " + std::to_string(d.getCounter()) +
                     " out of range");
    }
    cloud.insert(Dot{d.getReplica(), d.getCounter()});
  }
  CausalContext cc;
  CausalContext::from_parts(versions.value(), cloud, &cc);  // zeros were rejected above
  return cc;
}

void put_dot(s::Dot::Builder b, const Dot& d) {
  b.setReplica(d.replica);
  b.setCounter(d.counter);
}

void put_store(s::DotStore::Builder b, const StoreNode& n) {
  switch (n.kind) {
    case StoreNode::Kind::kDotSet: {
      auto list = b.initDotSet(n.dots.size());
      for (unsigned i = 0; i < n.dots.size(); ++i)
        put_dot(list[i], n.dots[i]);
      break;
    }
    case StoreNode::Kind::kDotFun: {
      auto list = b.initDotFun(n.fun.size());
      for (unsigned i = 0; i < n.fun.size(); ++i) {
        put_dot(list[i].initDot(), n.fun[i].first);
        put_scalar(list[i].initValue(), n.fun[i].second);
      }
      break;
    }
    case StoreNode::Kind::kDotMap: {
      auto list = b.initDotMap(n.map.size());
      for (unsigned i = 0; i < n.map.size(); ++i) {
        put_scalar(list[i].initKey(), n.map[i].key);
        const StoreNode& v = n.map[i].value;
        if (v.kind == StoreNode::Kind::kDotSet && v.dots.size() == 1) {
          list[i].setDotReplica(v.dots[0].replica);  // compact form
          list[i].setDotCounter(v.dots[0].counter);
        } else {
          put_store(list[i].initValue(), v);
        }
      }
      break;
    }
  }
}

// Reads a store, checking that every dot is unique and inside `cc`.
class StoreReader {
 public:
  explicit StoreReader(const CausalContext& cc) : cc_(cc) {}

  Result<StoreNode> read(s::DotStore::Reader r) {
    StoreNode n;
    switch (r.which()) {
      case s::DotStore::DOT_SET:
        n.kind = StoreNode::Kind::kDotSet;
        for (auto d : r.getDotSet()) {
          auto dot = check(d);
          if (!dot) return dot.error();
          n.dots.push_back(dot.value());
        }
        return n;
      case s::DotStore::DOT_FUN:
        n.kind = StoreNode::Kind::kDotFun;
        for (auto e : r.getDotFun()) {
          auto dot = check(e.getDot());
          if (!dot) return dot.error();
          auto v = get_scalar(e.getValue());
          if (!v) return v.error();
          n.fun.emplace_back(dot.value(), std::move(v).value());
        }
        return n;
      case s::DotStore::DOT_MAP:
        n.kind = StoreNode::Kind::kDotMap;
        for (auto e : r.getDotMap()) {
          auto k = get_scalar(e.getKey());
          if (!k) return k.error();
          if (e.getDotCounter() != 0) {  // compact form: one inline dot
            if (e.hasValue()) return invalid("dot map entry: both an inline dot and a value");
            auto dot = check_dot(Dot{e.getDotReplica(), e.getDotCounter()});
            if (!dot) return dot.error();
            StoreNode single;
            single.kind = StoreNode::Kind::kDotSet;
            single.dots.push_back(dot.value());
            n.map.push_back(StoreEntry{std::move(k).value(), std::move(single)});
            continue;
          }
          auto v = read(e.getValue());
          if (!v) return v.error();
          n.map.push_back(StoreEntry{std::move(k).value(), std::move(v).value()});
        }
        return n;
    }
    return decode_error("unknown dot store kind " + std::to_string(static_cast<int>(r.which())));
  }

 private:
  Result<Dot> check(s::Dot::Reader r) { return check_dot(Dot{r.getReplica(), r.getCounter()}); }

  Result<Dot> check_dot(const Dot& d) {
    if (d.counter == 0) return invalid("dot store: dot with counter 0");
    if (!cc_.contains(d)) return invalid("dot store: dot " + d.to_string() + " outside context");
    if (!seen_.insert(d).second) return invalid("dot store: dot " + d.to_string() + " twice");
    return d;
  }

  const CausalContext& cc_;
  std::set<Dot> seen_;
};

}  // namespace

Error kind_mismatch(const char* what, const char* expected, const char* found) {
  return make_error(ErrorCode::kInvalidState,
                    std::string(what) + ": expected " + expected + ", found " + found);
}

std::string encode_causal(const CausalIr& ir) {
  // Sets and maps can be large: a small first segment would split them over many (slower).
  capnp::MallocMessageBuilder message;
  auto root = message.initRoot<s::Causal>();
  put_store(root.initStore(), ir.store);
  put_context(root.initContext(), ir.context);
  return finish(message);
}

Result<CausalIr> decode_causal(std::string_view bytes) {
  return read_root<s::Causal, CausalIr>(
      bytes, "causal crdt", [](s::Causal::Reader r) -> Result<CausalIr> {
        auto cc = get_context(r.getContext());
        if (!cc) return cc.error();
        StoreReader reader(cc.value());
        auto store = reader.read(r.getStore());
        if (!store) return store.error();
        return CausalIr{std::move(store).value(), std::move(cc).value()};
      });
}

std::string encode_lww(const StampedScalar& v) {
  return encode_small([&](capnp::MallocMessageBuilder& message) {
    auto root = message.initRoot<s::LwwRegister>();
    put_hlc(root.initStamp(), v.stamp);
    if (v.value) put_scalar(root.initValue(), *v.value);
  });
}

Result<StampedScalar> decode_lww(std::string_view bytes) {
  return read_root<s::LwwRegister, StampedScalar>(
      bytes, "lww register", [](s::LwwRegister::Reader r) -> Result<StampedScalar> {
        StampedScalar out{get_hlc(r.getStamp()), std::nullopt};
        if (!r.hasValue()) {
          if (!out.stamp.is_zero()) return invalid("lww register: stamp without a value");
          return out;
        }
        auto v = get_scalar(r.getValue());
        if (!v) return v.error();
        out.value = std::move(v).value();
        return out;
      });
}

std::string encode_extremum(const std::optional<Scalar>& v) {
  return encode_small([&](capnp::MallocMessageBuilder& message) {
    auto root = message.initRoot<s::Extremum>();
    if (v) put_scalar(root.initValue(), *v);
  });
}

Result<std::optional<Scalar>> decode_extremum(std::string_view bytes) {
  return read_root<s::Extremum, std::optional<Scalar>>(
      bytes, "extremum", [](s::Extremum::Reader r) -> Result<std::optional<Scalar>> {
        if (!r.hasValue()) return std::optional<Scalar>{};
        auto v = get_scalar(r.getValue());
        if (!v) return v.error();
        return std::optional<Scalar>(std::move(v).value());
      });
}

std::string encode_first_claim(const StampedScalar& v) {
  return encode_small([&](capnp::MallocMessageBuilder& message) {
    auto root = message.initRoot<s::FirstClaim>();
    put_hlc(root.initAt(), v.stamp);
    if (v.value) put_scalar(root.initClaimant(), *v.value);
  });
}

Result<StampedScalar> decode_first_claim(std::string_view bytes) {
  return read_root<s::FirstClaim, StampedScalar>(
      bytes, "first claim", [](s::FirstClaim::Reader r) -> Result<StampedScalar> {
        StampedScalar out{get_hlc(r.getAt()), std::nullopt};
        if (!r.hasClaimant()) {
          if (!out.stamp.is_zero()) return invalid("first claim: stamp without a claimant");
          return out;
        }
        auto v = get_scalar(r.getClaimant());
        if (!v) return v.error();
        out.value = std::move(v).value();
        return out;
      });
}

}  // namespace codec_detail

using codec_detail::read_root;
namespace s = ::worldline::schema;

std::string Codec<GCounter>::encode(const GCounter& v) {
  return codec_detail::encode_small([&](capnp::MallocMessageBuilder& message) {
    auto root = message.initRoot<s::GCounter>();
    codec_detail::put_counts(root.initEntries(v.entries().size()), v.entries());
  });
}

Result<GCounter> Codec<GCounter>::decode(std::string_view bytes) {
  return read_root<s::GCounter, GCounter>(
      bytes, "gcounter", [](s::GCounter::Reader r) -> Result<GCounter> {
        auto e = codec_detail::get_counts(r.getEntries(), "gcounter");
        if (!e) return e.error();
        return GCounter(std::move(e).value());
      });
}

std::string Codec<PNCounter>::encode(const PNCounter& v) {
  return codec_detail::encode_small([&](capnp::MallocMessageBuilder& message) {
    auto root = message.initRoot<s::PNCounter>();
    codec_detail::put_counts(root.initPositive().initEntries(v.positive().entries().size()),
                             v.positive().entries());
    codec_detail::put_counts(root.initNegative().initEntries(v.negative().entries().size()),
                             v.negative().entries());
  });
}

Result<PNCounter> Codec<PNCounter>::decode(std::string_view bytes) {
  return read_root<s::PNCounter, PNCounter>(
      bytes, "pncounter", [](s::PNCounter::Reader r) -> Result<PNCounter> {
        auto p = codec_detail::get_counts(r.getPositive().getEntries(), "pncounter positive");
        if (!p) return p.error();
        auto n = codec_detail::get_counts(r.getNegative().getEntries(), "pncounter negative");
        if (!n) return n.error();
        return PNCounter(GCounter(std::move(p).value()), GCounter(std::move(n).value()));
      });
}

std::string Codec<BoundedCounter>::encode(const BoundedCounter& v) {
  return codec_detail::encode_small([&](capnp::MallocMessageBuilder& message) {
    auto root = message.initRoot<s::BoundedCounter>();
    root.setBound(v.bound());
    codec_detail::put_counts(root.initIncrements(v.increments().size()), v.increments());
    codec_detail::put_counts(root.initDecrements(v.decrements().size()), v.decrements());
    auto xfer = root.initTransfers(v.transfers().size());
    unsigned i = 0;
    for (const auto& [key, n] : v.transfers()) {
      xfer[i].setFrom(key.first);
      xfer[i].setTo(key.second);
      xfer[i].setAmount(n);
      ++i;
    }
  });
}

Result<BoundedCounter> Codec<BoundedCounter>::decode(std::string_view bytes) {
  return read_root<s::BoundedCounter, BoundedCounter>(
      bytes, "bounded counter", [](s::BoundedCounter::Reader r) -> Result<BoundedCounter> {
        auto inc = codec_detail::get_counts(r.getIncrements(), "bounded counter increments");
        if (!inc) return inc.error();
        auto dec = codec_detail::get_counts(r.getDecrements(), "bounded counter decrements");
        if (!dec) return dec.error();
        BoundedCounter::Transfers xfer;
        for (auto t : r.getTransfers()) {
          if (t.getAmount() == 0 || t.getAmount() > codec_detail::kMaxCounter ||
              t.getFrom() == t.getTo()) {
            return codec_detail::invalid("bounded counter: zero, oversized or self transfer");
          }
          if (!xfer.emplace(std::make_pair(t.getFrom(), t.getTo()), t.getAmount()).second) {
            return codec_detail::invalid("bounded counter: duplicate transfer");
          }
        }
        // Rights are not checked here: a delta (a transfer alone, say) is a partial state whose
        // rights may look negative. The replica checks well_formed() on the joined state.
        return BoundedCounter(r.getBound(), std::move(inc).value(), std::move(dec).value(),
                              std::move(xfer));
      });
}

}  // namespace worldline::crdt
