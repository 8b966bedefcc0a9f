// Merge policies for domain rules, as CRDTs:
//   MaxWins<T> — the greatest value ever written wins (high score, level, authority epoch);
//   MinWins<T> — the least value wins (fastest lap, earliest respawn deadline);
//   FirstClaimWins<T> — the earliest claim by Hlc owns the object (a unique item on the ground).
// Every replica joining the same claims in any order picks the same winner; a replica that
// already sees an owner refuses a new local claim with a reason.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <type_traits>

#include "crdt/hlc.h"
#include "crdt/result.h"
#include "crdt/scalar.h"

namespace worldline::crdt {

template <class T, class Better>
class Extremum {
 public:
  Extremum() = default;
  explicit Extremum(T v) : value_(std::move(v)) {}

  // Offers `v`; returns the delta (`v` itself; joining it is a no-op if it does not win).
  Extremum set(T v) {
    Extremum delta(std::move(v));
    join(delta);
    return delta;
  }

  const std::optional<T>& get() const { return value_; }

  void join(const Extremum& other) {
    if (other.value_ && (!value_ || Better{}(*other.value_, *value_))) value_ = other.value_;
  }
  friend Extremum join(Extremum a, const Extremum& b) {
    a.join(b);
    return a;
  }
  bool operator==(const Extremum&) const = default;
  std::string to_string() const {
    return std::string(kName) + "{" + (value_ ? scalar_to_string(*value_) : "") + "}";
  }

 private:
  static constexpr const char* kName =
      std::is_same_v<Better, std::greater<T>> ? "MaxWins" : "MinWins";
  std::optional<T> value_;
};

template <class T>
using MaxWins = Extremum<T, std::greater<T>>;
template <class T>
using MinWins = Extremum<T, std::less<T>>;

template <class T>
class FirstClaimWins {
 public:
  struct Claim {
    Hlc at;
    T claimant;
    // Earlier stamp first; the claimant breaks an (impossible in practice) exact tie.
    bool operator<(const Claim& o) const {
      return at < o.at || (at == o.at && claimant < o.claimant);
    }
    bool operator==(const Claim&) const = default;
  };

  FirstClaimWins() = default;
  explicit FirstClaimWins(Claim c) : claim_(std::move(c)) {}

  // Claims the object for `who` at `at`. Fails with kAlreadyClaimed if this replica already sees
  // an owner; otherwise returns the delta. A claim can still lose later to an earlier claim made
  // concurrently elsewhere: check owner() after joins.
  Result<FirstClaimWins> claim(T who, Hlc at) {
    if (claim_) {
      // A player or region id reads as the number it is (docs/protocol.md: `already claimed by
      // <player> at <hlc>`), not in the scalar's debug form ("7u").
      std::string who;
      if constexpr (std::is_integral_v<T>) {
        who = std::to_string(claim_->claimant);
      } else {
        who = scalar_to_string(claim_->claimant);
      }
      return make_error(ErrorCode::kAlreadyClaimed,
                        "already claimed by " + who + " at " + claim_->at.to_string());
    }
    claim_ = Claim{at, std::move(who)};
    return FirstClaimWins(*claim_);
  }

  bool claimed() const { return claim_.has_value(); }
  const std::optional<Claim>& winning_claim() const { return claim_; }
  std::optional<T> owner() const {
    if (!claim_) return std::nullopt;
    return claim_->claimant;
  }

  void join(const FirstClaimWins& other) {
    if (other.claim_ && (!claim_ || *other.claim_ < *claim_)) claim_ = other.claim_;
  }
  friend FirstClaimWins join(FirstClaimWins a, const FirstClaimWins& b) {
    a.join(b);
    return a;
  }
  bool operator==(const FirstClaimWins&) const = default;
  std::string to_string() const {
    if (!claim_) return "FirstClaimWins{unclaimed}";
    return "FirstClaimWins{" + scalar_to_string(claim_->claimant) + " @" + claim_->at.to_string() +
           "}";
  }

 private:
  std::optional<Claim> claim_;
};

}  // namespace worldline::crdt
