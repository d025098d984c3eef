// Numbers beyond a double's range have no JSON text: they are refused at the door (every
// JSON input goes through parse_json) and $inc never makes one. Found by fuzz/event_input
// and fuzz/json_update (their regression inputs are in fuzz/corpus).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/json_int.hpp"
#include "docs/update.hpp"
#include "prom/event.hpp"
#include "prom/json.hpp"

namespace prom {
namespace {

TEST(number_range, numbers_beyond_a_double_are_refused_by_parse_json) {
    const std::vector<std::string> texts{"1e400", "-1e400", "[1e309]", R"({"a":{"b":-1e309}})",
                                         std::string(5000, '9')};
    for (const auto& text : texts) {
        auto v = parse_json(text);
        ASSERT_FALSE(v.has_value()) << text.substr(0, 40);
        EXPECT_EQ(v.error().code, errc::invalid_argument);
    }
    EXPECT_TRUE(parse_json("1.7976931348623157e308").has_value());
    EXPECT_TRUE(parse_json("-1e308").has_value());
}

TEST(number_range, an_event_with_an_out_of_range_payload_is_refused) {
    auto body = parse_json(R"({"topic":"t","payload":{"cpu_pct":1e309}})");
    EXPECT_FALSE(body.has_value());
}

TEST(number_range, an_inc_that_overflows_a_double_is_refused_and_changes_nothing) {
    auto current = parse_json(R"({"n":1.5e308})")->get_object();
    auto update = parse_json(R"({"$inc":{"n":1.5e308}})")->get_object();
    auto r = docs::apply_update(&current, update, "k", ts_ms{1});
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().code, errc::invalid_argument);
    EXPECT_EQ(current.at("n").as_double(), 1.5e308);
}

// A _ts is an int64: an unsigned one above that range would be stored in the body and read
// back as a negative document ts. Refused; one inside the range is taken, whatever its kind.
TEST(number_range, a_document_ts_beyond_int64_is_refused) {
    auto big = parse_json(R"({"a":1,"_ts":18446744073709551615})")->get_object();
    auto r = docs::apply_update(nullptr, big, "k", ts_ms{1});
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().code, errc::type_error);
    auto set = parse_json(R"({"$set":{"_ts":9223372036854775808}})")->get_object();
    EXPECT_FALSE(docs::apply_update(nullptr, set, "k", ts_ms{1}).has_value());

    json::object small{{"a", 1}, {"_ts", std::uint64_t{1700000000000}}};
    auto ok = docs::apply_update(nullptr, small, "k", ts_ms{1});
    ASSERT_TRUE(ok.has_value()) << ok.error().message;
    EXPECT_EQ(docs::make_document("c", "k", *ok).ts, ts_ms{1700000000000});
}

// Every integer field (a ts, a key_seq, a config or policy number, a definition's version)
// reads its JSON through int64_of: both of Boost.JSON's integer kinds, nothing past int64.
TEST(number_range, int64_of_takes_either_integer_kind_within_int64_only) {
    EXPECT_EQ(int64_of(json::value(std::int64_t{-5})), -5);
    EXPECT_EQ(int64_of(json::value(std::uint64_t{42})), 42);
    EXPECT_EQ(int64_of(json::value(std::uint64_t{9223372036854775807ULL})), INT64_MAX);
    EXPECT_EQ(int64_of(json::value(std::uint64_t{9223372036854775808ULL})), std::nullopt);
    EXPECT_EQ(int64_of(json::value(1.0)), std::nullopt);
    EXPECT_EQ(int64_of(json::value("7")), std::nullopt);
    EXPECT_EQ(int64_of(*parse_json("18446744073709551615")), std::nullopt);
}

}  // namespace
}  // namespace prom
