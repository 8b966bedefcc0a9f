// Verdict records: a reviewer's verdict is kept in the world as one line, read back exactly, with
// one spelling per verdict; anything else a peer may send is refused with a reason.
#include "region/anticheat/verdict_record.h"

#include <gtest/gtest.h>

namespace worldline::region::anticheat {
namespace {

Verdict sample() {
  return Verdict{(std::uint64_t{3} << 48) | 28'240'000'000'123, VerdictKind::kDismissed, 42,
                 1'765'000'123'456, "lag spike, 100% sure — see replay #7\n(ok)"};
}

TEST(VerdictRecord, AVerdictReadsBackAsWritten) {
  const Verdict v = sample();
  const std::string line = format_verdict(v);
  EXPECT_EQ(line, "v1 flag=" + std::to_string(v.flag) +
                      " verdict=dismissed by=42 ms=1765000123456 "
                      "note=lag%20spike,%20100%25%20sure%20%E2%80%94%20see%20replay%20#7%0A(ok)");
  const auto back = parse_verdict(line);
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(back.value(), v);
  Verdict empty = v;
  empty.note.clear();
  empty.verdict = VerdictKind::kConfirmed;
  EXPECT_EQ(format_verdict(empty), "v1 flag=" + std::to_string(v.flag) +
                                       " verdict=confirmed by=42 ms=1765000123456 note=");
  EXPECT_EQ(parse_verdict(format_verdict(empty)).value(), empty);
  Verdict longest = v;
  longest.note = std::string(kMaxNoteBytes, '%');  // every byte escaped: the longest line
  EXPECT_EQ(parse_verdict(format_verdict(longest)).value(), longest);
}

TEST(VerdictRecord, WhatIsNoVerdictIsRefusedWithTheReason) {
  const std::string ok = format_verdict(sample());
  const std::pair<std::string, std::string> bad[] = {
      {"", "expected 'v1' and 5 fields"},
      {"v2" + ok.substr(2), "expected 'v1' and 5 fields"},
      {ok + " extra=1", "expected 'v1' and 5 fields"},
      {"v1 flag=1 verdict=confirmed by=2 ms=3  note=", "expected 'v1' and 5 fields"},
      {"v1 flag=x verdict=confirmed by=2 ms=3 note=", "flag, by and ms (integers) expected"},
      {"v1 flag=01 verdict=confirmed by=2 ms=3 note=", "flag, by and ms (integers) expected"},
      {"v1 flag=-1 verdict=confirmed by=2 ms=3 note=", "flag, by and ms (integers) expected"},
      {"v1 flag=1 verdict=confirmed by=2 ms=99999999999999999999 note=",
       "flag, by and ms (integers) expected"},
      {"v1 flag=1 by=2 verdict=confirmed ms=3 note=", "flag, by and ms (integers) expected"},
      {"v1 flag=1 verdict=Confirmed by=2 ms=3 note=", "verdict is confirmed or dismissed"},
      {"v1 flag=1 verdict= by=2 ms=3 note=", "verdict is confirmed or dismissed"},
      {"v1 flag=1 verdict=confirmed by=2 ms=3 nope=", "note= expected"},
      {"v1 flag=1 verdict=confirmed by=2 ms=3 note=a%2", "a cut escape in the note"},
      {"v1 flag=1 verdict=confirmed by=2 ms=3 note=%e2%80%94", "an escape is %XX, upper-case hex"},
      {"v1 flag=1 verdict=confirmed by=2 ms=3 note=%41", "an escaped byte that needs no escape"},
      {"v1 flag=1 verdict=confirmed by=2 ms=3 note=a\tb", "a byte the note should have escaped"},
      {"v1 flag=1 verdict=confirmed by=2 ms=3 note=\xC3\xA9",
       "a byte the note should have escaped"},
      {"v1 flag=1 verdict=confirmed by=2 ms=3 note=%C3", "a note that is not UTF-8"},
      {"v1 flag=1 verdict=confirmed by=2 ms=3 note=%C0%AF",
       "a note that is not UTF-8"},  // overlong
      {"v1 flag=1 verdict=confirmed by=2 ms=3 note=%ED%A0%80", "a note that is not UTF-8"},
      {"v1 flag=1 verdict=confirmed by=2 ms=3 note=" + std::string(kMaxNoteBytes + 1, 'a'),
       "a note longer than 1 KiB"},
      {"v1 flag=1 verdict=confirmed by=2 ms=3 note=" + std::string(4000, 'a'),
       "longer than a verdict can be"},
  };
  for (const auto& [line, why] : bad) {
    const auto r = parse_verdict(line);
    ASSERT_FALSE(r.ok()) << line;
    EXPECT_EQ(r.error().message, "not a verdict record: " + why) << line;
  }
}

// The winner among a flag's verdicts is the same whatever order a region sees them in.
TEST(VerdictRecord, TheLaterVerdictWinsAndTiesBreakTheSameEverywhere) {
  Verdict a = sample(), b = sample();
  b.ms = a.ms + 1;
  EXPECT_TRUE(supersedes(b, a));
  EXPECT_FALSE(supersedes(a, b));
  b.ms = a.ms;
  b.verdict = VerdictKind::kConfirmed;  // "confirmed" < "dismissed" in the line
  EXPECT_TRUE(supersedes(a, b));
  EXPECT_FALSE(supersedes(b, a));
  EXPECT_FALSE(supersedes(a, a));
}

TEST(VerdictRecord, Utf8Validation) {
  EXPECT_TRUE(valid_utf8(""));
  EXPECT_TRUE(valid_utf8("plain"));
  EXPECT_TRUE(valid_utf8("\xE2\x80\x94 \xF0\x9F\x8E\xAE \xC3\xA9"));
  EXPECT_FALSE(valid_utf8("\x80"));
  EXPECT_FALSE(valid_utf8("\xE2\x80"));
  EXPECT_FALSE(valid_utf8("\xF4\x90\x80\x80"));  // past U+10FFFF
  EXPECT_FALSE(valid_utf8("\xE0\x80\xAF"));      // overlong
  EXPECT_FALSE(valid_utf8("\xFF"));
}

}  // namespace
}  // namespace worldline::region::anticheat
