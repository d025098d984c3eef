// seq_t and ts_ms are distinct types: a seq where a time belongs (or the reverse, or a bare
// integer where either belongs) does not compile. These checks are the point of the types
// (include/prom/seq_and_time.hpp); the runtime tests pin the little arithmetic they allow.
#include <gtest/gtest.h>

#include <sstream>
#include <type_traits>

#include "prom/event.hpp"
#include "prom/store.hpp"

namespace prom {
namespace {

// Neither converts into the other, implicitly or explicitly.
static_assert(!std::is_convertible_v<seq_t, ts_ms>);
static_assert(!std::is_convertible_v<ts_ms, seq_t>);
static_assert(!std::is_constructible_v<seq_t, ts_ms>);
static_assert(!std::is_constructible_v<ts_ms, seq_t>);

// A bare integer becomes one only when named (`seq_t{5}`), and neither becomes an integer.
static_assert(!std::is_convertible_v<std::int64_t, seq_t>);
static_assert(!std::is_convertible_v<std::int64_t, ts_ms>);
static_assert(std::is_constructible_v<seq_t, std::int64_t>);
static_assert(!std::is_convertible_v<seq_t, std::int64_t>);
static_assert(!std::is_convertible_v<ts_ms, std::int64_t>);

// So the brace-inits that used to take them by position refuse a swap.
template <class T>
concept ordered_append_result = requires {
    T{std::string(), seq_t{1}, ts_ms{2}, false};
};
static_assert(ordered_append_result<append_result>);
template <class T>
concept swapped_append_result = requires {
    T{std::string(), ts_ms{2}, seq_t{1}, false};
};
static_assert(!swapped_append_result<append_result>);
template <class T>
concept swapped_snapshot = requires {
    T{seq_t{1}, ts_ms{2}, std::int64_t{3}, std::string()};
};
static_assert(!swapped_snapshot<state_snapshot>);
template <class T>
concept count_as_last_seq = requires {
    T{std::string(), seq_t{1}, std::int64_t{3}};
};
static_assert(!count_as_last_seq<topic_info>);

// A seq is not a time in a comparison either.
template <class A, class B>
concept comparable = requires(A a, B b) {
    a < b;
};
static_assert(!comparable<seq_t, ts_ms>);
static_assert(comparable<seq_t, seq_t>);
static_assert(comparable<seq_t, std::int64_t>);

static_assert(sizeof(seq_t) == 8 && std::is_trivially_copyable_v<seq_t>);
static_assert(sizeof(ts_ms) == 8 && std::is_trivially_copyable_v<ts_ms>);

TEST(seq_and_time, a_seq_plus_a_count_is_a_seq_and_the_distance_of_two_is_a_count) {
    seq_t s{41};
    EXPECT_EQ(s + 1, seq_t{42});
    EXPECT_EQ(s.next(), 42);
    EXPECT_EQ(seq_t{50} - s, 9);
    ++s;
    EXPECT_EQ(s.value, 42);
    EXPECT_LT(seq_t{}, s);
    EXPECT_EQ(seq_t{}, 0);
}

TEST(seq_and_time, a_time_plus_milliseconds_is_a_time) {
    ts_ms t{1'700'000'000'000};
    EXPECT_EQ(t + 1000, ts_ms{1'700'000'001'000});
    EXPECT_EQ(ts_ms{1'700'000'001'000} - t, 1000);
    EXPECT_LT(ts_ms::min(), t);
    EXPECT_GT(ts_ms::max(), t);
}

TEST(seq_and_time, both_print_as_decimal) {
    EXPECT_EQ(to_string(seq_t{7}), "7");
    EXPECT_EQ(to_string(ts_ms{-5}), "-5");
    std::ostringstream os;
    os << seq_t{3} << ' ' << ts_ms{4};
    EXPECT_EQ(os.str(), "3 4");
}

TEST(seq_and_time, events_carry_them_into_json_as_plain_integers) {
    append_result r{"id-1", seq_t{3}, ts_ms{1000}, false};
    auto o = to_json(r);
    EXPECT_EQ(o.at("seq").as_int64(), 3);
    EXPECT_EQ(o.at("ts").as_int64(), 1000);
}

}  // namespace
}  // namespace prom
