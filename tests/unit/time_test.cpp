#include <gtest/gtest.h>

#include <cctype>
#include <cstdlib>
#include <string>
#include <string_view>

#include "prom/event.hpp"

namespace prom {
namespace {

TEST(parse_time, accepts_epoch_milliseconds) {
    EXPECT_EQ(parse_time("0").value(), 0);
    EXPECT_EQ(parse_time("1795701780000").value(), 1795701780000);
}

TEST(parse_time, accepts_iso_8601_with_a_zone) {
    EXPECT_EQ(parse_time("1970-01-01T00:00:00Z").value(), 0);
    EXPECT_EQ(parse_time("2026-11-26T14:03:00Z").value(), 1795701780000);
    EXPECT_EQ(parse_time("2026-11-26T15:03:00+01:00").value(), 1795701780000);
    EXPECT_EQ(parse_time("2026-11-26T14:03:00.250Z").value(), 1795701780250);
    EXPECT_EQ(parse_time("2024-02-29T00:00:00Z").value(), 1709164800000);
}

TEST(parse_time, refuses_malformed_times_and_missing_zones) {
    for (auto bad :
         {"", "abc", "2026-11-26", "2026-11-26T14:03:00", "2026-13-01T00:00:00Z",
          "2023-02-29T00:00:00Z", "2026-11-26T25:00:00Z", "12ab", "2026-11-26T14:03Z junk"}) {
        auto r = parse_time(bad);
        EXPECT_FALSE(r) << bad;
        if (!r) {
            EXPECT_EQ(r.error().code, errc::invalid_argument);
        }
    }
}

// Only the instants an event can have: 0 to 9999-12-31T23:59:59.999Z.
TEST(parse_time, refuses_instants_no_event_can_have) {
    for (const char* bad : {"-5", "253402300800000", "9223372036854775807", "0000-01-01T00:00:00Z",
                            "1969-12-31T23:59:59Z", "1970-01-01T00:00:00+01:00"}) {
        auto t = parse_time(bad);
        ASSERT_FALSE(t) << bad;
        EXPECT_NE(t.error().message.find("outside the times events can have"), std::string::npos)
            << t.error().message;
    }
    EXPECT_EQ(parse_time("253402300799999").value(), 253402300799999);
    EXPECT_EQ(parse_time("9999-12-31T23:59:59.999Z").value(), 253402300799999);
}

TEST(parse_time, accepts_a_leap_second_only_at_the_end_of_june_or_december_utc) {
    // 23:59:60 maps to 23:59:59.999 of the same UTC day (docs/time-travel.md, "Times").
    const ts_ms end_of_2016 = parse_time("2016-12-31T23:59:59Z").value();
    EXPECT_EQ(parse_time("2016-12-31T23:59:60Z").value(), end_of_2016 + 999);
    EXPECT_EQ(parse_time("2016-12-31T23:59:60.500Z").value(), end_of_2016 + 999);
    EXPECT_EQ(parse_time("2016-12-31T18:59:60-05:00").value(), end_of_2016 + 999);
    EXPECT_EQ(parse_time("2017-01-01T00:59:60+01:00").value(), end_of_2016 + 999);
    EXPECT_LT(parse_time("2016-12-31T23:59:60Z").value(),
              parse_time("2017-01-01T00:00:00Z").value());
    const ts_ms end_of_june = parse_time("2015-06-30T23:59:59Z").value();
    EXPECT_EQ(parse_time("2015-06-30T23:59:60Z").value(), end_of_june + 999);
}

TEST(parse_time, refuses_second_60_anywhere_else) {
    for (auto bad : {"2023-11-14T22:13:60Z", "2016-12-31T23:58:60Z", "2016-12-31T22:59:60Z",
                     "2016-12-30T23:59:60Z", "2016-11-30T23:59:60Z", "2016-06-29T23:59:60Z",
                     "2016-12-31T23:59:60+01:00", "2017-01-01T00:00:60Z", "2016-12-31T23:59:61Z"}) {
        auto r = parse_time(bad);
        EXPECT_FALSE(r) << bad;
        if (!r) {
            EXPECT_EQ(r.error().code, errc::invalid_argument);
        }
    }
}

TEST(event_id, is_a_time_ordered_uuid_v7) {
    auto a = new_event_id();
    auto b = new_event_id();
    EXPECT_EQ(a.size(), 36u);
    EXPECT_EQ(a[14], '7');
    EXPECT_LT(a, b);
    // 8-4-4-4-12 lowercase hex digits, the variant bits 10 (8, 9, a or b)
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            EXPECT_EQ(a[i], '-') << a;
        } else {
            EXPECT_TRUE(std::isdigit(static_cast<unsigned char>(a[i])) ||
                        (a[i] >= 'a' && a[i] <= 'f'))
                << a;
        }
    }
    EXPECT_NE(std::string_view("89ab").find(a[19]), std::string_view::npos) << a;
    // The first 48 bits are the time in ms.
    const auto ms = std::stoull(a.substr(0, 8) + a.substr(9, 4), nullptr, 16);
    EXPECT_LE(std::llabs(static_cast<long long>(ms) - now_ms().value), 10'000);
}

}  // namespace
}  // namespace prom
