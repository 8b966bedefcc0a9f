#include <gtest/gtest.h>

#include "crdt/lww_register.h"
#include "crdt/mv_register.h"

namespace worldline::crdt {
namespace {

TEST(LwwRegister, LaterStampWinsWhateverTheJoinOrder) {
  LwwRegister<Vec3> a, b;
  auto d1 = a.assign(Vec3{1, 2, 3}, Hlc{100, 0, 1});
  auto d2 = b.assign(Vec3{9, 9, 9}, Hlc{100, 1, 2});
  a.join(d2);
  b.join(d1);
  EXPECT_EQ(a, b);
  EXPECT_EQ(a.value(), (Vec3{9, 9, 9}));
  EXPECT_EQ(a.stamp(), (Hlc{100, 1, 2}));
  EXPECT_EQ(a.to_string(), "LwwRegister{(9,9,9) @100.1@2}");
}

TEST(LwwRegister, StaleWriteIsAbsorbed) {
  LwwRegister<std::int64_t> r;
  r.assign(5, Hlc{200, 0, 1});
  auto stale = r.assign(7, Hlc{150, 0, 2});
  EXPECT_EQ(r.value(), 5);
  EXPECT_EQ(stale.value(), 7);  // the delta is the write itself
  EXPECT_EQ(join(r, stale), r);
}

TEST(LwwRegister, EqualStampsResolveToTheGreaterValueEverywhere) {
  LwwRegister<std::string> a("apple", Hlc{1, 0, 1});
  LwwRegister<std::string> b("pear", Hlc{1, 0, 1});
  EXPECT_EQ(join(a, b).value(), "pear");
  EXPECT_EQ(join(b, a).value(), "pear");
}

TEST(LwwRegister, EmptyRegisterIsTheIdentity) {
  LwwRegister<std::int64_t> empty, r;
  EXPECT_FALSE(empty.has_value());
  EXPECT_FALSE(empty.get().has_value());
  EXPECT_EQ(empty.to_string(), "LwwRegister{}");
  r.assign(3, Hlc{5, 0, 1});
  EXPECT_EQ(join(r, empty), r);
  EXPECT_EQ(join(empty, r), r);
}

TEST(MvRegister, ConcurrentWritesAreAllKept) {
  MvRegister<std::string> a, b;
  auto da = a.assign(1, "Sir Lancelot");
  auto db = b.assign(2, "Lance");
  a.join(db);
  b.join(da);
  EXPECT_EQ(a, b);
  EXPECT_TRUE(a.has_conflict());
  EXPECT_EQ(a.values(), (std::vector<std::string>{"Lance", "Sir Lancelot"}));
  // A later write that has seen both supersedes both.
  auto dc = a.assign(1, "Lancelot");
  b.join(dc);
  EXPECT_EQ(b.values(), (std::vector<std::string>{"Lancelot"}));
  EXPECT_FALSE(b.has_conflict());
}

TEST(MvRegister, ResetClearsObservedValuesOnly) {
  MvRegister<std::int64_t> a, b;
  auto d1 = a.assign(1, 10);
  b.join(d1);
  auto reset = a.reset();
  auto concurrent = b.assign(2, 20);
  a.join(concurrent);
  b.join(reset);
  EXPECT_EQ(a, b);
  EXPECT_EQ(a.values(), (std::vector<std::int64_t>{20}));
  EXPECT_EQ(a.to_string(), "MvRegister{(2:1)=20} {vv:[1:1,2:1] cloud:[]}");
}

TEST(MvRegister, EqualValuesFromConcurrentWritersAreReportedOnce) {
  MvRegister<std::int64_t> a, b;
  a.join(b.assign(2, 4));
  a.assign(1, 4);
  b.join(a);
  EXPECT_EQ(b.values(), (std::vector<std::int64_t>{4}));
}

}  // namespace
}  // namespace worldline::crdt
