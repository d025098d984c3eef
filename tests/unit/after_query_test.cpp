// Parsing of `after`, `wait` and `wait_for` (consistency/after_query.hpp).
#include "consistency/after_query.hpp"

#include <gtest/gtest.h>

namespace prom::consistency {
namespace {

TEST(after_query, a_list_of_topic_seq_pairs_splits_at_each_last_colon) {
    auto r = parse_after_list("orders:5,a:b:7");
    ASSERT_TRUE(r) << r.error().message;
    ASSERT_EQ(r->size(), 2u);
    EXPECT_EQ((*r)[0].topic, "orders");
    EXPECT_EQ((*r)[0].seq, 5);
    EXPECT_EQ((*r)[1].topic, "a:b");
    EXPECT_EQ((*r)[1].seq, 7);
}

TEST(after_query, malformed_negative_and_huge_seqs_are_refused_with_a_message) {
    for (std::string_view bad : {"", "orders", "orders:", ":5", "orders:-1", "orders:+1",
                                 "orders:1.5", "orders:9223372036854775808", "a:1,,b:2",
                                 // no topic can have the name: 400, not a 422 wait in vain
                                 "bad topic:1", "a/b:1", "\xc3\xa9:1"}) {
        auto r = parse_after_list(bad);
        EXPECT_FALSE(r) << bad;
        if (!r) {
            EXPECT_EQ(r.error().code, errc::invalid_argument);
        }
    }
    EXPECT_TRUE(parse_after_list("orders:9223372036854775807"));
    // Prom-After lines are an RFC 9110 list: empty elements are ignored there (found from
    // outside), and only there.
    auto header = parse_after_list("a:1,, b:2 ,", true);
    ASSERT_TRUE(header) << header.error().message;
    ASSERT_EQ(header->size(), 2u);
    EXPECT_EQ((*header)[1].topic, "b");
}

TEST(after_query, wait_is_whole_seconds_up_to_sixty) {
    EXPECT_EQ(parse_wait_seconds("0").value(), std::chrono::seconds(0));
    EXPECT_EQ(parse_wait_seconds("60").value(), std::chrono::seconds(60));
    for (std::string_view bad : {"61", "-1", "", "1.5", "abc", "0060"}) {
        EXPECT_FALSE(parse_wait_seconds(bad)) << bad;
    }
}

TEST(after_query, the_query_and_the_header_add_up_and_other_parameters_are_left_alone) {
    auto p = parse_consistency_params("limit=5&after=a%3A1&wait=2&status=x", "b:2");
    ASSERT_TRUE(p) << p.error().message;
    ASSERT_EQ(p->after.size(), 2u);
    EXPECT_EQ(p->after[0].topic, "a");
    EXPECT_EQ(p->after[1].topic, "b");
    EXPECT_EQ(p->wait, std::chrono::seconds(2));
    EXPECT_FALSE(parse_consistency_params("wait=1&wait=2", std::nullopt));
    EXPECT_TRUE(mentions_consistency("x=1&after=a:1", std::nullopt));
    EXPECT_FALSE(mentions_consistency("safter=1&waiting=3", std::nullopt));
}

}  // namespace
}  // namespace prom::consistency
