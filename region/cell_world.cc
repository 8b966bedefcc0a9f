#include "region/cell_world.h"

namespace worldline::region {

using replica::ComponentValue;
using replica::Key;

const ComponentValue* CellWorld::get(const Key& key) const {
  auto it = index_.find(key);
  if (it != index_.end()) return &staged_[it->second].value;
  return base_.get(key);
}

crdt::Result<bool> CellWorld::write(const Key& key, const replica::Replica::Mutator& mutate) {
  auto it = index_.find(key);
  if (it != index_.end()) {
    Staged& s = staged_[it->second];
    std::optional<ComponentValue> delta = mutate(s.value);
    if (!delta) return false;
    replica::join_value(s.delta, *delta);
    return true;
  }
  const ComponentValue* current = base_.get(key);
  if (!current && !base_.registry().find(key.component)) {
    return crdt::make_error(crdt::ErrorCode::kInvalidArgument,
                            "unknown component id " + std::to_string(key.component));
  }
  ComponentValue value = current ? *current : base_.registry().bottom(key.component);
  std::optional<ComponentValue> delta = mutate(value);
  if (!delta) return false;
  index_.emplace(key, staged_.size());
  staged_.push_back(Staged{key, std::move(value), std::move(*delta)});
  return true;
}

void CellWorld::flush_into(replica::Replica& world) {
  world.write_prepared({&staged_});
  forget_writes();
}

}  // namespace worldline::region
