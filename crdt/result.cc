#include "crdt/result.h"

namespace worldline::crdt {

const char* to_string(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInsufficientRights:
      return "insufficient_rights";
    case ErrorCode::kAlreadyClaimed:
      return "already_claimed";
    case ErrorCode::kClockSkew:
      return "clock_skew";
    case ErrorCode::kInvalidArgument:
      return "invalid_argument";
    case ErrorCode::kDecode:
      return "decode";
    case ErrorCode::kInvalidState:
      return "invalid_state";
  }
  return "unknown";
}

std::string Error::to_string() const {
  return std::string(crdt::to_string(code)) + ": " + message;
}

}  // namespace worldline::crdt
