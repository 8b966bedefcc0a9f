// Result<T>: the value of an operation a caller must be ready to see fail (bad input, a refused
// mutation, a remote timestamp too far ahead). Exceptions stay for bugs; this is for outcomes.
#pragma once

#include <cassert>
#include <string>
#include <utility>
#include <variant>

namespace worldline::crdt {

enum class ErrorCode {
  kInsufficientRights,  // BoundedCounter: local escrow does not cover the decrement or transfer
  kAlreadyClaimed,      // FirstClaimWins: the object has an owner on this replica already
  kClockSkew,           // HlcClock: a remote timestamp is further ahead than the allowed skew
  kInvalidArgument,     // a mutator was called with an argument it cannot accept
  kDecode,              // bytes that are not a well-formed encoding of the requested type
  kInvalidState,        // a decoded value that breaks one of the type's invariants
};

const char* to_string(ErrorCode code);

struct Error {
  ErrorCode code;
  std::string message;

  std::string to_string() const;
  bool operator==(const Error&) const = default;
};

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}      // NOLINT: implicit by design, like std::expected
  Result(Error error) : v_(std::move(error)) {}  // NOLINT

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  // REQUIRES: ok().
  T& value() & {
    assert(ok());
    return std::get<0>(v_);
  }
  const T& value() const& {
    assert(ok());
    return std::get<0>(v_);
  }
  T&& value() && {
    assert(ok());
    return std::get<0>(std::move(v_));
  }
  // REQUIRES: !ok().
  const Error& error() const {
    assert(!ok());
    return std::get<1>(v_);
  }

 private:
  std::variant<T, Error> v_;
};

inline Error make_error(ErrorCode code, std::string message) {
  return Error{code, std::move(message)};
}

}  // namespace worldline::crdt
