#include <gtest/gtest.h>

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
    for (auto bad : {"", "abc", "2026-11-26", "2026-11-26T14:03:00", "2026-13-01T00:00:00Z",
                     "2023-02-29T00:00:00Z", "2026-11-26T25:00:00Z", "12ab", "2026-11-26T14:03Z junk"}) {
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
}

}  // namespace
}  // namespace prom
