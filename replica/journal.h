// Journal: where a replica makes a delta group durable before anything depending on it is
// acknowledged (a client's action, or a peer's delta interval). LmdbJournal is the real one;
// MemoryJournal serves the deterministic simulation.
#pragma once

#include <vector>

#include "crdt/result.h"
#include "replica/messages.h"

namespace worldline::replica {

class Journal {
 public:
  virtual ~Journal() = default;
  // Durably appends one record; ok() means it survives a crash from now on.
  virtual crdt::Result<bool> append(const JournalRecord& record) = 0;
};

class MemoryJournal final : public Journal {
 public:
  crdt::Result<bool> append(const JournalRecord& record) override {
    records_.push_back(record);
    return true;
  }
  const std::vector<JournalRecord>& records() const { return records_; }

 private:
  std::vector<JournalRecord> records_;
};

}  // namespace worldline::replica
