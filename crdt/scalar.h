// Scalar: the closed set of leaf values a CRDT may hold (register values, set elements, map keys),
// and ScalarTraits<T>, which maps a C++ type to and from it. The codec encodes Scalars; a type
// not listed here cannot be stored in a replicated component.
#pragma once

#include <compare>
#include <cstdint>
#include <string>
#include <variant>

namespace worldline::crdt {

// A position or velocity in world units.
struct Vec3 {
  double x = 0, y = 0, z = 0;
  auto operator<=>(const Vec3&) const = default;
  bool operator==(const Vec3&) const = default;
};

// Who may write an entity: ordered by epoch, then region, so a hand-off (epoch + 1) always wins
// over the old owner and two regions claiming the same epoch resolve the same way everywhere.
struct Authority {
  std::uint64_t epoch = 0;
  std::uint32_t region = 0;
  auto operator<=>(const Authority&) const = default;
  bool operator==(const Authority&) const = default;
};

using Scalar =
    std::variant<std::int64_t, std::uint64_t, double, bool, std::string, Vec3, Authority>;

std::string to_string(const Vec3& v);
std::string to_string(const Authority& a);
std::string to_string(const Scalar& s);

// The name of the alternative a Scalar holds, for error messages.
const char* scalar_kind(const Scalar& s);

template <class T>
struct ScalarTraits {
  static_assert(sizeof(T) == 0, "type is not storable in a CRDT: add it to Scalar");
};

#define WORLDLINE_SCALAR_TRAITS(T, NAME)                                        \
  template <>                                                                   \
  struct ScalarTraits<T> {                                                      \
    static constexpr const char* kName = NAME;                                  \
    static Scalar to_scalar(const T& v) { return Scalar{v}; }                   \
    static const T* from_scalar(const Scalar& s) { return std::get_if<T>(&s); } \
  }

WORLDLINE_SCALAR_TRAITS(std::int64_t, "int64");
WORLDLINE_SCALAR_TRAITS(std::uint64_t, "uint64");
WORLDLINE_SCALAR_TRAITS(double, "float64");
WORLDLINE_SCALAR_TRAITS(bool, "bool");
WORLDLINE_SCALAR_TRAITS(std::string, "text");
WORLDLINE_SCALAR_TRAITS(Vec3, "vec3");
WORLDLINE_SCALAR_TRAITS(Authority, "authority");

#undef WORLDLINE_SCALAR_TRAITS

template <class T>
std::string scalar_to_string(const T& v) {
  return to_string(ScalarTraits<T>::to_scalar(v));
}

}  // namespace worldline::crdt
