#include "schemas/packed.h"

#include <capnp/serialize-packed.h>
#include <capnp/serialize.h>
#include <kj/debug.h>
#include <kj/io.h>

#include <algorithm>
#include <array>

namespace worldline::schema {

std::string to_packed_bytes(capnp::MessageBuilder& message) {
  auto pack = [&message](auto& out) {
    capnp::writePackedMessage(out, message);
    auto bytes = out.getArray();
    return std::string(reinterpret_cast<const char*>(bytes.begin()), bytes.size());
  };
  const std::size_t words = capnp::computeSerializedSizeInWords(message);
  // Packing writes at most 10 bytes per word (a tag, eight bytes, a run count). A message that
  // fits packs into this thread's scratch buffer, so the result is the only allocation; a larger
  // one grows a buffer of its own.
  constexpr std::size_t kScratchBytes = 4096;
  if (words * 10 + 16 <= kScratchBytes) {
    thread_local std::array<kj::byte, kScratchBytes> scratch;
    kj::ArrayOutputStream out(kj::arrayPtr(scratch.data(), scratch.size()));
    return pack(out);
  }
  kj::VectorOutputStream out(words * 9 + 16);
  return pack(out);
}

struct PackedReader::Impl {
  kj::Array<capnp::word> buffer;
  kj::Own<capnp::FlatArrayMessageReader> reader;
};

PackedReader::PackedReader(std::string_view bytes, std::uint64_t max_words, int nesting_limit)
    : impl_(new Impl) {
  try {
    KJ_REQUIRE(!bytes.empty(), "empty input");
    const auto packed = kj::arrayPtr(reinterpret_cast<const kj::byte*>(bytes.data()), bytes.size());
    const std::size_t words = capnp::computeUnpackedSizeInWords(packed);
    KJ_REQUIRE(words <= max_words, "message exceeds the size limit", words, max_words);
    impl_->buffer = kj::heapArray<capnp::word>(words);
    kj::ArrayInputStream in(packed);
    capnp::_::PackedInputStream unpacker(in);
    unpacker.read(impl_->buffer.asBytes().begin(), impl_->buffer.asBytes().size());
    capnp::ReaderOptions options;
    options.traversalLimitInWords = max_words;
    options.nestingLimit = nesting_limit;
    impl_->reader = kj::heap<capnp::FlatArrayMessageReader>(impl_->buffer, options);
    KJ_REQUIRE(impl_->reader->getEnd() == impl_->buffer.end(), "trailing bytes after the message");
  } catch (...) {
    delete impl_;
    throw;
  }
}

PackedReader::~PackedReader() {
  delete impl_;
}

capnp::MessageReader& PackedReader::message() {
  return *impl_->reader;
}

}  // namespace worldline::schema
