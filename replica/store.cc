#include "replica/store.h"

#include <algorithm>

namespace worldline::replica {

std::string Key::to_string() const {
  return std::to_string(entity) + "/" + std::to_string(component);
}

void merge_into(DeltaGroup& group, const Key& key, const ComponentValue& delta) {
  auto [it, inserted] = group.emplace(key, delta);
  if (!inserted) join_value(it->second, delta);
}

void merge_into(DeltaGroup& group, const Key& key, ComponentValue&& delta) {
  auto it = group.find(key);
  if (it == group.end()) {
    group.emplace(key, std::move(delta));
  } else {
    join_value(it->second, delta);
  }
}

Store::Store(const ComponentRegistry& registry) : registry_(registry) {
  for (const auto& [id, spec] : registry_.all()) {
    if (spec.indexed) index_[id];
  }
}

void Store::note_created(const Key& key) {
  if (index_.empty()) return;
  if (auto it = index_.find(key.component); it != index_.end()) it->second.insert(key.entity);
}

const std::set<EntityId>* Store::entities_with(ComponentId component) const {
  auto it = index_.find(component);
  return it == index_.end() ? nullptr : &it->second;
}

crdt::Result<std::optional<ComponentValue>> Store::mutate(
    const Key& key, const std::function<std::optional<ComponentValue>(ComponentValue&)>& fn) {
  auto it = state_.find(key);
  const bool is_new = it == state_.end();
  if (is_new) {
    if (!registry_.find(key.component)) {
      return crdt::make_error(crdt::ErrorCode::kInvalidArgument,
                              "unknown component id " + std::to_string(key.component));
    }
    it = state_.emplace(key, registry_.bottom(key.component)).first;
  }
  std::optional<ComponentValue> delta = fn(it->second);
  // A refused first write, or one that changed nothing (adding 0), leaves no trace: an absent key
  // and a key at bottom are the same state, and only one of them may be stored.
  if (is_new) {
    if (!delta || it->second == registry_.bottom(key.component)) {
      state_.erase(it);
    } else {
      note_created(key);
    }
  }
  return delta;
}

crdt::Result<bool> Store::reject(crdt::Error e) {
  ++rejected_;
  ++rejections_[crdt::to_string(e.code)];
  return e;
}

crdt::Result<bool> Store::join_remote(const Key& key, std::string_view bytes,
                                      ComponentValue* joined) {
  auto decoded = decode_remote(key, bytes);
  if (!decoded) return decoded.error();
  auto changed = join_checked(key, decoded.value());
  if (changed && joined) *joined = std::move(decoded).value();
  return changed;
}

crdt::Result<ComponentValue> Store::decode_remote(const Key& key, std::string_view bytes) {
  auto decoded = decode_value(registry_, key.component, bytes);
  if (!decoded) {
    ++rejected_;
    ++rejections_[crdt::to_string(decoded.error().code)];
  }
  return decoded;
}

crdt::Result<bool> Store::join_checked(const Key& key, const ComponentValue& value) {
  auto it = state_.find(key);
  ComponentValue after = it == state_.end() ? registry_.bottom(key.component) : it->second;
  join_value(after, value);
  if (const auto* gold = value_if<crdt::Gold>(&after); gold && !gold->well_formed()) {
    return reject(crdt::make_error(
        crdt::ErrorCode::kInvalidState,
        key.to_string() + ": joining gives negative rights: " + gold->to_string()));
  }
  bool changed;
  if (it == state_.end()) {
    changed = !(after == registry_.bottom(key.component));
    if (changed) {
      state_.emplace(key, std::move(after));
      note_created(key);
    }
  } else {
    changed = !(after == it->second);
    if (changed) it->second = std::move(after);
  }
  return changed;
}

void Store::join_local(const Key& key, const ComponentValue& value) {
  auto it = state_.find(key);
  if (it == state_.end()) {
    if (value == registry_.bottom(key.component)) return;  // bottom is stored as absent
    state_.emplace(key, value);
    note_created(key);
  } else {
    join_value(it->second, value);
  }
}

const ComponentValue* Store::get(const Key& key) const {
  auto it = state_.find(key);
  return it == state_.end() ? nullptr : &it->second;
}

namespace {

constexpr std::uint64_t kFnvOffset = 1469598103934665603ull;

// FNV-1a, continuing from `h`.
std::uint64_t fnv1a(const void* data, std::size_t n, std::uint64_t h = kFnvOffset) {
  const auto* b = static_cast<const unsigned char*>(data);
  for (std::size_t i = 0; i < n; ++i) {
    h ^= b[i];
    h *= 1099511628211ull;
  }
  return h;
}

}  // namespace

std::uint64_t bytes_digest(std::string_view encoded) {
  return fnv1a(encoded.data(), encoded.size());
}

std::uint64_t value_digest(const ComponentValue& v) {
  return bytes_digest(encode_value(v));
}

std::vector<Key> Store::sorted_keys() const {
  std::vector<Key> keys;
  keys.reserve(state_.size());
  for (const auto& [key, value] : state_)
    keys.push_back(key);
  std::sort(keys.begin(), keys.end());
  return keys;
}

std::vector<std::pair<Key, std::uint64_t>> Store::key_digests() const {
  std::vector<std::pair<Key, std::uint64_t>> out;
  out.reserve(state_.size());
  for (const Key& key : sorted_keys())
    out.emplace_back(key, value_digest(state_.at(key)));
  return out;
}

std::uint64_t Store::digest() const {
  std::uint64_t h = kFnvOffset;
  for (const Key& key : sorted_keys()) {
    h = fnv1a(&key.entity, sizeof key.entity, h);
    h = fnv1a(&key.component, sizeof key.component, h);
    const std::string bytes = encode_value(state_.at(key));
    h = fnv1a(bytes.data(), bytes.size(), h);
  }
  return h;
}

}  // namespace worldline::replica
