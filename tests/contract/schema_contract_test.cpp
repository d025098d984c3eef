// Topic schemas (docs/schemas.md) on every backend: stored versions, refused schemas, and
// payload enforcement on every append path (store::append, append_async, a transaction).
#include <gtest/gtest.h>

#include <future>

#include "schema/schema_registry.hpp"
#include "support/test_support.hpp"

namespace prom {
namespace {

json::value parse(std::string_view text) {
    auto v = parse_json(text);
    EXPECT_TRUE(v.has_value()) << text;
    return v ? *v : json::value{};
}

constexpr std::string_view metrics_v1 = R"({"schema":{
  "type":"object",
  "properties":{"host":{"type":"string"},"cpu_pct":{"type":"number","minimum":0,"maximum":100}},
  "required":["host"]}})";

event_input event_of(std::string topic, std::string_view payload) {
    event_input in;
    in.topic = std::move(topic);
    in.key = "k";
    in.payload = parse(payload);
    return in;
}

class schema_contract : public testing::TestWithParam<test::backend> {
  protected:
    void SetUp() override {
        store_ = test::open_or_die(GetParam().fresh_url(dir_), {.durable = false});
        ASSERT_NE(store_, nullptr);
    }
    std::int64_t count(std::string_view topic) {
        auto t = store_->topic(topic);
        EXPECT_TRUE(t.has_value());
        return t && *t ? (*t)->count : 0;
    }
    std::expected<schema::put_outcome, schema::put_error> put(std::string_view topic,
                                                              std::string_view body) {
        return schema::put_schema(*store_, topic, parse(body));
    }

    test::temp_dir dir_;
    std::unique_ptr<store> store_;
};

TEST_P(schema_contract, valid_payloads_append_and_invalid_ones_are_refused_with_a_pointer) {
    ASSERT_TRUE(put("metrics", metrics_v1));
    ASSERT_TRUE(store_->append({event_of("metrics", R"({"host":"a","cpu_pct":12.5})")}));
    auto bad = store_->append({event_of("metrics", R"({"host":"a","cpu_pct":130})")});
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().code, errc::invalid_payload);
    EXPECT_EQ(bad.error().path, "/payload/cpu_pct");
    EXPECT_EQ(bad.error().schema_version, 1);
    auto missing = store_->append({event_of("metrics", R"({"cpu_pct":1})")});
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error().path, "/payload/host");
    auto wrong_type = store_->append({event_of("metrics", R"([1,2])")});
    ASSERT_FALSE(wrong_type);
    EXPECT_EQ(wrong_type.error().path, "/payload");
    EXPECT_EQ(count("metrics"), 1);
    // Topics without a schema take anything.
    EXPECT_TRUE(store_->append({event_of("other", R"({"cpu_pct":"x"})")}));
}

// A retried event the topic already holds is a duplicate even when a schema set since would
// refuse it (found from outside: 422 for an event that was in the log); a new id with the
// same payload is still refused.
TEST_P(schema_contract, a_retry_of_a_stored_event_is_a_duplicate_whatever_the_schema_says_now) {
    auto first = event_of("metrics", R"({"cpu_pct":"x"})");
    first.id = "evt-1";
    auto stored = store_->append({first});
    ASSERT_TRUE(stored) << stored.error().message;
    ASSERT_TRUE(put("metrics", metrics_v1));
    auto retry = store_->append({first});
    ASSERT_TRUE(retry) << retry.error().message;
    EXPECT_TRUE(retry->front().duplicate);
    EXPECT_EQ(retry->front().seq, stored->front().seq);
    auto other = first;
    other.id = "evt-2";
    auto refused = store_->append({other});
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().code, errc::invalid_payload);
    EXPECT_EQ(count("metrics"), 1);
}

TEST_P(schema_contract, one_invalid_event_refuses_the_whole_batch_on_every_path) {
    ASSERT_TRUE(put("metrics", metrics_v1));
    auto batch = [] {
        return std::vector<event_input>{event_of("metrics", R"({"host":"a"})"),
                                        event_of("free", R"({"anything":1})"),
                                        event_of("metrics", R"({"host":7})")};
    };
    auto r = store_->append(batch());
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, errc::invalid_payload);
    EXPECT_EQ(r.error().path, "/payload/host");
    EXPECT_NE(r.error().message.find("event 2 of the batch"), std::string::npos)
        << r.error().message;

    std::promise<result<std::vector<append_result>>> done;
    store_->append_async(
        batch(), [&](result<std::vector<append_result>> out) { done.set_value(std::move(out)); });
    auto async = done.get_future().get();
    ASSERT_FALSE(async);
    EXPECT_EQ(async.error().code, errc::invalid_payload);

    auto txn = store_->begin();
    ASSERT_TRUE(txn);
    auto in_txn = (*txn)->append(batch());
    ASSERT_FALSE(in_txn);
    EXPECT_EQ(in_txn.error().path, "/payload/host");

    EXPECT_EQ(count("metrics"), 0);
    EXPECT_EQ(count("free"), 0);
}

TEST_P(schema_contract, versions_are_kept_and_the_newest_is_enforced) {
    auto v1 = put("metrics", metrics_v1);
    ASSERT_TRUE(v1);
    EXPECT_TRUE(v1->created);
    EXPECT_EQ(v1->stored.version, 1);
    auto same = put("metrics", metrics_v1);
    ASSERT_TRUE(same);
    EXPECT_FALSE(same->created);
    EXPECT_EQ(same->stored.version, 1);
    // Loosened: cpu_pct up to 1000, a new optional field.
    auto v2 = put("metrics", R"({"schema":{"type":"object",
      "properties":{"host":{"type":"string"},"cpu_pct":{"type":"number","minimum":0,"maximum":1000},
                    "mem_mb":{"type":"integer"}},
      "required":["host"]}})");
    ASSERT_TRUE(v2) << v2.error().err.message;
    EXPECT_EQ(v2->stored.version, 2);
    EXPECT_TRUE(store_->append({event_of("metrics", R"({"host":"a","cpu_pct":500})")}));
    auto bad = store_->append({event_of("metrics", R"({"host":"a","mem_mb":1.5})")});
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().schema_version, 2);
    EXPECT_EQ(bad.error().path, "/payload/mem_mb");

    auto versions = schema::schema_versions(*store_, "metrics");
    ASSERT_TRUE(versions);
    ASSERT_EQ(versions->size(), 2u);
    EXPECT_EQ((*versions)[0].version, 1);
    EXPECT_EQ((*versions)[1].version, 2);
    auto all = schema::current_schemas(*store_);
    ASSERT_TRUE(all);
    ASSERT_EQ(all->size(), 1u);
    EXPECT_EQ((*all)[0].version, 2);
}

// A whole number written with a fraction is stored as the integer: the same schema again
// is not a new version (found from outside: every deploy added one).
TEST_P(schema_contract, the_same_schema_with_whole_fractions_again_is_unchanged) {
    for (int round = 0; round < 3; ++round) {
        auto fraction = put("fractions", R"({"schema":{"type":"number","minimum":0.0}})");
        ASSERT_TRUE(fraction) << fraction.error().err.message;
        EXPECT_EQ(fraction->created, round == 0);
        EXPECT_EQ(fraction->stored.version, 1);
    }
}

TEST_P(schema_contract, incompatible_versions_are_refused_unless_compatibility_is_none) {
    ASSERT_TRUE(put("metrics", metrics_v1));
    struct refusal {
        std::string_view schema;
        std::string_view pointer;
    };
    const refusal refused[] = {
        // a new required field
        {R"({"type":"object","properties":{"host":{"type":"string"},"cpu_pct":{"type":"number"}},
            "required":["host","cpu_pct"]})",
         "/schema/required"},
        // a narrowed maximum
        {R"({"type":"object","properties":{"host":{"type":"string"},
            "cpu_pct":{"type":"number","minimum":0,"maximum":50}},"required":["host"]})",
         "/schema/properties/cpu_pct/maximum"},
        // a narrowed type
        {R"({"type":"object","properties":{"host":{"type":"string"},
            "cpu_pct":{"type":"integer","minimum":0,"maximum":100}},"required":["host"]})",
         "/schema/properties/cpu_pct/type"},
        // closing the object
        {R"({"type":"object","properties":{"host":{"type":"string"},
            "cpu_pct":{"type":"number","minimum":0,"maximum":100}},"required":["host"],
            "additionalProperties":false})",
         "/schema/additionalProperties"},
        // an enum where any string was allowed
        {R"({"type":"object","properties":{"host":{"enum":["a","b"]},
            "cpu_pct":{"type":"number","minimum":0,"maximum":100}},"required":["host"]})",
         "/schema/properties/host/enum"},
    };
    for (const auto& r : refused) {
        std::string body = "{\"schema\":" + std::string(r.schema) + "}";
        auto out = put("metrics", body);
        ASSERT_FALSE(out) << r.schema;
        EXPECT_EQ(out.error().code, "incompatible_schema") << r.schema;
        EXPECT_EQ(out.error().pointer, r.pointer) << out.error().err.message;
    }
    auto versions = schema::schema_versions(*store_, "metrics");
    ASSERT_TRUE(versions);
    EXPECT_EQ(versions->size(), 1u);  // nothing stored

    std::string forced =
        "{\"compatibility\":\"none\",\"schema\":" + std::string(refused[0].schema) + "}";
    auto v2 = put("metrics", forced);
    ASSERT_TRUE(v2) << v2.error().err.message;
    EXPECT_EQ(v2->stored.version, 2);
    EXPECT_EQ(v2->stored.compatibility, "none");
    auto bad = store_->append({event_of("metrics", R"({"host":"a"})")});
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().path, "/payload/cpu_pct");
}

// 1 and 1.0 are one value in JSON Schema: writing an enum's or a const's 1 as 1.0 removes
// nothing (found from outside: refused as "enum value removed").
TEST_P(schema_contract, an_enum_or_const_written_with_fractions_is_the_same_value) {
    ASSERT_TRUE(put("levels", R"({"schema":{"enum":[1,2]}})"));
    auto e = put("levels", R"({"schema":{"enum":[1.0,2,3]}})");
    ASSERT_TRUE(e) << e.error().err.message;
    ASSERT_TRUE(put("one", R"({"schema":{"const":1}})"));
    auto c = put("one", R"({"schema":{"const":1.0,"description":"the one"}})");
    ASSERT_TRUE(c) << c.error().err.message;
    auto removed = put("levels", R"({"schema":{"enum":[1.5,2,3]}})");
    ASSERT_FALSE(removed);
    EXPECT_EQ(removed.error().code, "incompatible_schema");
}

// additionalProperties: true is an open object like leaving it out: a new optional property
// is compatible either way (found from outside: with true it was refused).
TEST_P(schema_contract, an_object_open_by_additional_properties_true_takes_a_new_property) {
    ASSERT_TRUE(put("open", R"({"schema":{"type":"object","additionalProperties":true}})"));
    auto next = put("open", R"({"schema":{"type":"object","additionalProperties":true,)"
                            R"("properties":{"x":{"type":"string"}}}})");
    ASSERT_TRUE(next) << next.error().err.message;
    EXPECT_EQ(next->stored.version, 2);
    // Closing it is still a narrowing.
    auto closed = put("open", R"({"schema":{"type":"object","additionalProperties":false,)"
                              R"("properties":{"x":{"type":"string"}}}})");
    ASSERT_FALSE(closed);
    EXPECT_EQ(closed.error().code, "incompatible_schema");
}

TEST_P(schema_contract, bad_schemas_and_topics_are_refused_and_nothing_is_stored) {
    struct bad_case {
        std::string_view topic, body, code, pointer;
    };
    const bad_case cases[] = {
        {"metrics", R"({"schema":{"type":"strnig"}})", "invalid_schema", "/schema/type"},
        {"metrics", R"({"schema":{"minimum":"zero"}})", "invalid_schema", "/schema/minimum"},
        {"metrics", R"({"schema":{"$ref":"http://example.invalid/s.json"}})", "invalid_schema",
         "/schema/$ref"},
        {"metrics", R"({"schema":{"properties":{"a":{"$ref":"other.json#/x"}}}})", "invalid_schema",
         "/schema/properties/a/$ref"},
        {"metrics", R"({"schema":{"$schema":"https://json-schema.org/draft/2020-12/schema"}})",
         "invalid_schema", "/schema/$schema"},
        {"metrics", R"({"schema":{"pattern":"(unclosed"}})", "invalid_schema", "/schema/pattern"},
        {"metrics", R"({"schema":5})", "invalid_schema", "/schema"},
        {"metrics", R"({"type":"object"})", "bad_request", "/type"},
        {"metrics", R"({"schema":{},"compatibility":"forward"})", "bad_request", "/compatibility"},
        {"bad topic!", R"({"schema":{}})", "invalid_topic", ""},
        {"", R"({"schema":{}})", "invalid_topic", ""},
        {"orders.dlq", R"({"schema":{"type":"object"}})", "invalid_topic", ""},
    };
    for (const auto& c : cases) {
        auto out = put(c.topic, c.body);
        ASSERT_FALSE(out) << c.body;
        EXPECT_EQ(out.error().code, c.code) << c.body << ": " << out.error().err.message;
        if (!c.pointer.empty()) EXPECT_EQ(out.error().pointer, c.pointer) << c.body;
    }
    auto all = schema::current_schemas(*store_);
    ASSERT_TRUE(all);
    EXPECT_TRUE(all->empty());
    // A local $ref is fine.
    auto local = put("metrics", R"({"schema":{"definitions":{"pct":{"type":"number","maximum":100}},
        "type":"object","properties":{"cpu":{"$ref":"#/definitions/pct"}}}})");
    ASSERT_TRUE(local) << local.error().err.message;
    auto bad = store_->append({event_of("metrics", R"({"cpu":101})")});
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().path, "/payload/cpu");
}

TEST_P(schema_contract, a_new_version_applies_to_the_next_append_at_once) {
    ASSERT_TRUE(store_->append({event_of("metrics", R"({"cpu_pct":"high"})")}));  // cached: none
    ASSERT_TRUE(put("metrics", metrics_v1));
    auto bad = store_->append({event_of("metrics", R"({"cpu_pct":"high"})")});
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().schema_version, 1);
}

INSTANTIATE_TEST_SUITE_P(backends, schema_contract, testing::ValuesIn(test::contract_backends()),
                         test::backend_name);

}  // namespace
}  // namespace prom
