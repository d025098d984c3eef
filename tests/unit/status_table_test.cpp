// Every status an error maps to has its reason phrase in the one table (found from outside: a
// 412 went out as "412 Unknown" and was counted as status="other" in /metrics).
#include "http/status_table.hpp"

#include <gtest/gtest.h>

#include <algorithm>

#include "http/error_status.hpp"

namespace prom::http {
namespace {

TEST(status_table, every_error_status_has_its_reason_phrase) {
    for (int c = 0; c <= static_cast<int>(errc::internal); ++c) {
        const unsigned status = status_of(static_cast<errc>(c));
        const bool known = std::ranges::any_of(
            known_statuses, [&](const status_info& s) { return s.code == status; });
        EXPECT_TRUE(known) << to_string(static_cast<errc>(c)) << " → " << status;
    }
    const auto precondition = std::ranges::find(known_statuses, 412u, &status_info::code);
    ASSERT_NE(precondition, known_statuses.end());
    EXPECT_EQ(precondition->reason, "Precondition Failed");
}

}  // namespace
}  // namespace prom::http
