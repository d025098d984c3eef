// event_input_from_json in its two forms: reading a publish body by copy, and moving the
// payload out of a body parsed only to become its events (the HTTP publish path). Both read
// the same event and refuse the same shapes with the same message.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "prom/event.hpp"
#include "prom/json.hpp"

namespace prom {
namespace {

json::value parsed(const std::string& text) {
    auto v = parse_json(text);
    EXPECT_TRUE(v) << text;
    return v ? *v : json::value();
}

TEST(event_input_json, moving_the_body_reads_the_same_event_as_copying_it) {
    const std::string body = R"({"topic":"orders","key":"o-1","id":"e-1","ts":1700000000000,)"
                             R"("payload":{"items":[1,2,{"sku":"a/b"}],"total":12.5,"note":"ü"},)"
                             R"("headers":{"trace":"t-9"},"expect":{"key_seq":3}})";
    const json::value source = parsed(body);
    auto copied = event_input_from_json(source);
    json::value consumed = parsed(body);
    auto moved = event_input_from_json(std::move(consumed));
    ASSERT_TRUE(copied) << copied.error().message;
    ASSERT_TRUE(moved) << moved.error().message;
    EXPECT_EQ(moved->topic, copied->topic);
    EXPECT_EQ(moved->key, copied->key);
    EXPECT_EQ(moved->id, copied->id);
    EXPECT_EQ(moved->ts, copied->ts);
    EXPECT_EQ(moved->headers, copied->headers);
    EXPECT_EQ(moved->expect_key_seq, copied->expect_key_seq);
    EXPECT_EQ(canonical_json(moved->payload), canonical_json(copied->payload));
    EXPECT_EQ(canonical_json(moved->payload),
              R"({"items":[1,2,{"sku":"a/b"}],"note":"ü","total":12.5})");
    // The copying form leaves its source whole.
    EXPECT_EQ(canonical_json(source), canonical_json(parsed(body)));
}

TEST(event_input_json, both_forms_refuse_a_bad_shape_alike) {
    for (const std::string& bad : std::vector<std::string>{
             R"([1])",
             R"({"payload":1})",
             R"({"topic":"t"})",
             R"({"topic":"t","payload":1,"colour":"red"})",
             R"({"topic":"t","payload":1,"headers":{"a":1}})",
             R"({"topic":"bad topic","payload":1})",
             // prom's own headers: a forged erasure marker or dead-letter replay copy
             R"({"topic":"t","payload":1,"headers":{"prom-erased":"x"}})",
             R"({"topic":"t","payload":1,"headers":{"Prom-Replay-Group":"g"}})",
             // prom's own ids: an erasure marker's, taken first, hid the erasure
             R"({"topic":"t","payload":1,"id":"prom-erased-0123456789abcdef-1"})",
             R"({"topic":"t","payload":1,"id":"PROM-x"})",
         }) {
        const json::value source = parsed(bad);
        auto copied = event_input_from_json(source);
        auto moved = event_input_from_json(parsed(bad));  // a temporary: the moving form
        ASSERT_FALSE(copied) << bad;
        ASSERT_FALSE(moved) << bad;
        EXPECT_EQ(moved.error().code, errc::invalid_argument) << bad;
        EXPECT_EQ(moved.error().message, copied.error().message) << bad;
    }
}

}  // namespace
}  // namespace prom
