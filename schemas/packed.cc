#include "schemas/packed.h"

#include <capnp/serialize-packed.h>
#include <capnp/serialize.h>
#include <kj/debug.h>
#include <kj/io.h>

#include <algorithm>

namespace worldline::schema {

std::string to_packed_bytes(capnp::MessageBuilder& message) {
  // A small value gets a small buffer, not the stream's default 4 KiB (packing adds at most about
  // one byte per word); a large one grows from 4 KiB as before.
  const std::size_t words = capnp::computeSerializedSizeInWords(message);
  kj::VectorOutputStream out(std::min<std::size_t>(words * 9 + 16, 4096));
  capnp::writePackedMessage(out, message);
  auto bytes = out.getArray();
  return std::string(reinterpret_cast<const char*>(bytes.begin()), bytes.size());
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
