// PromText, the /metrics writer: a label value or HELP text holding a quote, a backslash or a
// newline is escaped as the text format (0.0.4) requires, so a region or class name from a config
// file cannot end a sample early or forge one.
#include "app/prometheus.h"

#include <gtest/gtest.h>

namespace worldline::app {
namespace {

TEST(PromText, LabelValuesEscapeQuoteBackslashAndNewline) {
  EXPECT_EQ(PromText::label("region", "eu-west"), R"(region="eu-west")");
  EXPECT_EQ(PromText::label("region", "a\"b\\c\nd"), R"(region="a\"b\\c\nd")");
  PromText p(PromText::label("region", "x\"} 1\nforged_total{a=\"b"));
  p.counter("worldline_test_total", "A counter.", 3, PromText::label("class", "combat\\\"hot\""));
  EXPECT_EQ(p.str(),
            "# HELP worldline_test_total A counter.\n"
            "# TYPE worldline_test_total counter\n"
            R"(worldline_test_total{region="x\"} 1\nforged_total{a=\"b",class="combat\\\"hot\""} 3)"
            "\n");
}

TEST(PromText, HelpTextEscapesBackslashAndNewlineOnly) {
  PromText p(PromText::label("region", "r"));
  p.gauge("worldline_test", "line one\nline \\ two \"quoted\"", 1);
  EXPECT_EQ(p.str(),
            "# HELP worldline_test line one\\nline \\\\ two \"quoted\"\n"
            "# TYPE worldline_test gauge\n"
            "worldline_test{region=\"r\"} 1\n");
}

TEST(PromText, NumbersAreExactCountersInFullAndOthersShortest) {
  EXPECT_EQ(PromText::number(1234567), "1234567");  // not 1.23457e+06
  EXPECT_EQ(PromText::number(9007199254740991.0), "9007199254740991");
  EXPECT_EQ(PromText::number(0), "0");
  EXPECT_EQ(PromText::number(-3), "-3");
  EXPECT_EQ(PromText::number(0.1), "0.1");
  EXPECT_EQ(PromText::number(1234567.25), "1234567.25");
  EXPECT_EQ(PromText::number(1e300), "1e+300");
  EXPECT_EQ(PromText::number(std::nan("")), "NaN");
  EXPECT_EQ(PromText::number(-HUGE_VAL), "-Inf");
}
}  // namespace
}  // namespace worldline::app
