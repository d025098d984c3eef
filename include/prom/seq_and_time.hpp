// Strong types for the two integers that every event carries: its seq in its topic and its
// time. Both were plain int64 aliases, filled by position in brace-inits (`{id, seq, ts}`),
// so a swap compiled silently; now a seq_t is never a ts_ms and neither is a bare integer
// (tests/unit/seq_and_time_test.cpp pins that down).
//
// What is allowed, and why:
//  - explicit construction from an int64 (`seq_t{1}`), and `.value` to get it back, at the
//    edges: SQL parameters and columns, JSON, command-line arguments;
//  - comparison with the same type, and with a bare integer (`seq == 0`, `EXPECT_EQ(s, 3)`):
//    a bare integer on the other side is not a ts, so no swap can hide there;
//  - seq + count = seq, seq - seq = count; ts + milliseconds = ts, ts - ts = milliseconds.
// Nothing converts a seq_t into a ts_ms or back. Both are trivially copyable, 8 bytes.
#pragma once

#include <compare>
#include <cstdint>
#include <iosfwd>
#include <limits>
#include <string>

namespace prom {

// A topic's offset: from 1, gapless. 0 means "before the first event" (an empty topic's
// last seq, a cursor that has acknowledged nothing).
struct seq_t {
    std::int64_t value = 0;

    constexpr seq_t() = default;
    constexpr explicit seq_t(std::int64_t v) : value(v) {}

    static constexpr seq_t max() { return seq_t{std::numeric_limits<std::int64_t>::max()}; }
    constexpr seq_t next() const { return seq_t{value + 1}; }

    friend constexpr bool operator==(seq_t, seq_t) = default;
    friend constexpr auto operator<=>(seq_t, seq_t) = default;
    friend constexpr bool operator==(seq_t a, std::int64_t b) { return a.value == b; }
    friend constexpr auto operator<=>(seq_t a, std::int64_t b) { return a.value <=> b; }

    friend constexpr seq_t operator+(seq_t s, std::int64_t n) { return seq_t{s.value + n}; }
    friend constexpr seq_t operator-(seq_t s, std::int64_t n) { return seq_t{s.value - n}; }
    friend constexpr std::int64_t operator-(seq_t a, seq_t b) { return a.value - b.value; }
    constexpr seq_t& operator+=(std::int64_t n) {
        value += n;
        return *this;
    }
    constexpr seq_t& operator++() {
        ++value;
        return *this;
    }
};

// An instant: epoch milliseconds, UTC.
struct ts_ms {
    std::int64_t value = 0;

    constexpr ts_ms() = default;
    constexpr explicit ts_ms(std::int64_t v) : value(v) {}

    static constexpr ts_ms min() { return ts_ms{std::numeric_limits<std::int64_t>::min()}; }
    static constexpr ts_ms max() { return ts_ms{std::numeric_limits<std::int64_t>::max()}; }

    friend constexpr bool operator==(ts_ms, ts_ms) = default;
    friend constexpr auto operator<=>(ts_ms, ts_ms) = default;
    friend constexpr bool operator==(ts_ms a, std::int64_t b) { return a.value == b; }
    friend constexpr auto operator<=>(ts_ms a, std::int64_t b) { return a.value <=> b; }

    friend constexpr ts_ms operator+(ts_ms t, std::int64_t ms) { return ts_ms{t.value + ms}; }
    friend constexpr ts_ms operator-(ts_ms t, std::int64_t ms) { return ts_ms{t.value - ms}; }
    friend constexpr std::int64_t operator-(ts_ms a, ts_ms b) { return a.value - b.value; }
    constexpr ts_ms& operator+=(std::int64_t ms) {
        value += ms;
        return *this;
    }
};

// Decimal text, as SQL parameters and messages want it.
inline std::string to_string(seq_t s) { return std::to_string(s.value); }
inline std::string to_string(ts_ms t) { return std::to_string(t.value); }

// For GoogleTest's failure messages and streams.
std::ostream& operator<<(std::ostream& os, seq_t s);
std::ostream& operator<<(std::ostream& os, ts_ms t);

}  // namespace prom
