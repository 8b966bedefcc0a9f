#include "crdt/scalar.h"

#include <cstdio>

namespace worldline::crdt {
namespace {

std::string format_double(double d) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", d);
  return buf;
}

}  // namespace

std::string to_string(const Vec3& v) {
  return "(" + format_double(v.x) + "," + format_double(v.y) + "," + format_double(v.z) + ")";
}

std::string to_string(const Authority& a) {
  return "epoch " + std::to_string(a.epoch) + "/region " + std::to_string(a.region);
}

std::string to_string(const Scalar& s) {
  struct Visitor {
    std::string operator()(std::int64_t v) const { return std::to_string(v); }
    std::string operator()(std::uint64_t v) const { return std::to_string(v) + "u"; }
    std::string operator()(double v) const { return format_double(v); }
    std::string operator()(bool v) const { return v ? "true" : "false"; }
    std::string operator()(const std::string& v) const { return "\"" + v + "\""; }
    std::string operator()(const Vec3& v) const { return crdt::to_string(v); }
    std::string operator()(const Authority& v) const { return crdt::to_string(v); }
  };
  return std::visit(Visitor{}, s);
}

const char* scalar_kind(const Scalar& s) {
  static constexpr const char* kNames[] = {"int64", "uint64", "float64",  "bool",
                                           "text",  "vec3",   "authority"};
  return kNames[s.index()];
}

}  // namespace worldline::crdt
