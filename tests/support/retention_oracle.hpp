// The time-travel oracle (docs/time-travel.md), shared by the time-travel and retention
// contract tests and the retention crash test: the fold of the full history, kept by the
// test, against what time_machine answers (after retention: from what survived).
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "prom/timetravel.hpp"

namespace prom::test {

// One event of the full history, as the test appended it (dropped ones included).
struct logged_event {
    std::string key;
    ts_ms ts{};
    seq_t seq{};
    json::value payload;
};

// The definition: the key's events with ts <= t in (ts, seq) order, folded from null.
inline std::optional<state_at> full_fold(const std::vector<logged_event>& history,
                                         std::string_view key, ts_ms t, const reducer& r) {
    std::vector<const logged_event*> evs;
    for (const auto& e : history) {
        if (e.key == key && e.ts <= t) evs.push_back(&e);
    }
    if (evs.empty()) return std::nullopt;
    std::sort(evs.begin(), evs.end(),
              [](auto* a, auto* b) { return std::pair(a->ts, a->seq) < std::pair(b->ts, b->seq); });
    json::value state;
    for (const auto* e : evs) {
        event ev{.id = "",
                 .topic = "",
                 .key = e->key,
                 .ts = e->ts,
                 .seq = e->seq,
                 .payload = e->payload};
        state = *r.apply(std::move(state), ev);
    }
    return state_at{std::move(state), evs.back()->ts, evs.back()->seq};
}

inline std::string show(const std::optional<state_at>& s) {
    return s ? canonical_json(json::value(to_json(*s))) : std::string("(no state)");
}

// Whether the rule says `t` is gone for a key with record `h`.
inline bool gone_at(const std::optional<key_horizon>& h, ts_ms t) {
    return h && t >= h->gone_from && t < h->base_ts;
}

// `got` for (key, t) must be: gone with error::horizon = base_ts when the record says so;
// else the full fold. `may_be_gone_after_base`: a reducer without base snapshots may also be
// gone at or after the base (never before gone_from).
inline testing::AssertionResult honest_answer(const result<std::optional<state_at>>& got,
                                              const std::vector<logged_event>& history,
                                              std::string_view key, ts_ms t, const reducer& r,
                                              const std::optional<key_horizon>& h,
                                              bool may_be_gone_after_base = false) {
    if (gone_at(h, t)) {
        if (got) return testing::AssertionFailure() << "answered " << show(*got) << ", want gone";
        if (got.error().code != errc::gone) {
            return testing::AssertionFailure() << "error " << got.error().message << ", want gone";
        }
        if (got.error().horizon != h->base_ts.value) {
            return testing::AssertionFailure()
                   << "gone with horizon " << got.error().horizon.value_or(-1) << ", want "
                   << h->base_ts.value;
        }
        return testing::AssertionSuccess();
    }
    if (!got) {
        if (got.error().code == errc::gone && may_be_gone_after_base && h && t >= h->base_ts) {
            return testing::AssertionSuccess();
        }
        return testing::AssertionFailure() << "error: " << got.error().message;
    }
    auto want = full_fold(history, key, t, r);
    if (show(*got) != show(want)) {
        return testing::AssertionFailure() << "got " << show(*got) << ", want " << show(want);
    }
    return testing::AssertionSuccess();
}

}  // namespace prom::test
