// Reading and writing Cap'n Proto's packed encoding for every format in schemas/: one place that
// decides the limits a message from the network or the disk must respect.
#pragma once

#include <capnp/message.h>

#include <cstdint>
#include <string>
#include <string_view>

namespace worldline::schema {

// The largest message accepted, unpacked. Packed bytes can claim up to 256 zero words each, so
// this keeps a few bytes of garbage from claiming gigabytes.
constexpr std::uint64_t kMaxMessageWords = 8u << 20;  // 64 MiB
constexpr int kNestingLimit = 32;

std::string to_packed_bytes(capnp::MessageBuilder& message);

// A packed message unpacked into a flat buffer, read with the limits above. The constructor throws
// kj::Exception on malformed input: truncation, a claim past the limit, trailing bytes. The input
// is unpacked in one read: a stream reader would read on in its destructor, where a malformed tail
// would throw out of a destructor. A reader of smaller messages (a client's frame) passes tighter
// limits: max_words bounds both the unpacked size and the traversal.
class PackedReader {
 public:
  explicit PackedReader(std::string_view bytes, std::uint64_t max_words = kMaxMessageWords,
                        int nesting_limit = kNestingLimit);
  ~PackedReader();
  PackedReader(const PackedReader&) = delete;
  PackedReader& operator=(const PackedReader&) = delete;

  template <class R>
  typename R::Reader root() {
    return message().getRoot<R>();
  }

 private:
  capnp::MessageReader& message();
  struct Impl;
  Impl* impl_;
};

}  // namespace worldline::schema
