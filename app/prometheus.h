// PromText: writes metrics in the Prometheus text exposition format (version 0.0.4): one
// HELP and TYPE line per metric family, then its samples. Used by the node's /metrics.
#pragma once

#include <charconv>
#include <cmath>
#include <cstdint>
#include <sstream>
#include <string>
#include <string_view>

#include "replica/histogram.h"

namespace worldline::app {

class PromText {
 public:
  // `labels` is added to every sample, e.g. label("region", name); build label pairs with label().
  explicit PromText(std::string labels) : labels_(std::move(labels)) {}

  // One label pair, name="value", with the value escaped as the text format requires (a
  // backslash, a double quote and a newline as \\, \" and \n): a region or class name from a
  // config file cannot break the exposition or forge samples.
  static std::string label(std::string_view name, std::string_view value) {
    std::string out(name);
    out += "=\"";
    for (char c : value) {
      if (c == '\\' || c == '"') out += '\\';
      if (c == '\n') {
        out += "\\n";
        continue;
      }
      out += c;
    }
    out += '"';
    return out;
  }

  // Values are any arithmetic type (counts are integers): written as doubles.
  template <typename T>
  void counter(const std::string& name, const std::string& help, T v,
               const std::string& extra = {}) {
    family(name, help, "counter");
    sample(name, extra, static_cast<double>(v));
  }
  template <typename T>
  void gauge(const std::string& name, const std::string& help, T v, const std::string& extra = {}) {
    family(name, help, "gauge");
    sample(name, extra, static_cast<double>(v));
  }
  // Further samples of the family last opened (other label values).
  template <typename T>
  void more(const std::string& name, T v, const std::string& extra) {
    sample(name, extra, static_cast<double>(v));
  }
  void histogram(const std::string& name, const std::string& help, const replica::Histogram& h) {
    family(name, help, "histogram");
    std::uint64_t cumulative = 0;
    for (const auto& [bound, n] : h.buckets()) {
      cumulative += n;
      std::ostringstream le;
      if (std::isinf(bound)) {
        le << "+Inf";
      } else {
        le << bound;
      }
      sample(name + "_bucket", "le=\"" + le.str() + "\"", static_cast<double>(cumulative));
    }
    sample(name + "_sum", {}, h.sum());
    sample(name + "_count", {}, static_cast<double>(h.count()));
  }
  std::string str() const { return out_.str(); }

  // Exact: whole numbers below 2^53 (every counter) in full, others in the shortest form that
  // reads back to the same double (the stream's default 6 digits made 1234567 read 1.23457e+06).
  static std::string number(double v) {
    if (std::isnan(v)) return "NaN";
    if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
    if (v == std::trunc(v) && std::fabs(v) < 9007199254740992.0) {
      return std::to_string(static_cast<std::int64_t>(v));
    }
    char buf[32];
    const auto r = std::to_chars(buf, buf + sizeof buf, v);
    return std::string(buf, r.ptr);
  }

 private:
  void family(const std::string& name, const std::string& help, const char* type) {
    out_ << "# HELP " << name << ' ';
    for (char c : help) {  // HELP text escapes a backslash and a newline (not a quote)
      if (c == '\\') {
        out_ << "\\\\";
      } else if (c == '\n') {
        out_ << "\\n";
      } else {
        out_ << c;
      }
    }
    out_ << "\n# TYPE " << name << ' ' << type << '\n';
  }
  void sample(const std::string& name, const std::string& extra, double v) {
    out_ << name << '{' << labels_;
    if (!extra.empty()) out_ << ',' << extra;
    out_ << "} " << number(v) << '\n';
  }

  std::string labels_;
  std::ostringstream out_;
};

}  // namespace worldline::app
