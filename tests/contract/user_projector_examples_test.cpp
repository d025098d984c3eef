// The definitions in examples/projectors/ load and run; process.txn.json makes the same
// documents, byte for byte and ETag for ETag, as the built-in C++ projector.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "projector/process_handlers.hpp"
#include "prom/bus.hpp"
#include "prom/projector.hpp"
#include "prom/user_projector.hpp"
#include "support/test_support.hpp"

namespace prom {
namespace {

using namespace std::chrono_literals;

std::shared_ptr<const projector_definition> load_example(std::string_view file) {
    std::ifstream in(std::string(PROM_SOURCE_DIR) + "/examples/projectors/" + std::string(file));
    EXPECT_TRUE(in) << file;
    std::stringstream text;
    text << in.rdbuf();
    auto body = parse_json(text.str());
    EXPECT_TRUE(body) << file << ": " << (body ? "" : body.error().message);
    if (!body) return nullptr;
    auto d = parse_projector_definition(*body);
    EXPECT_TRUE(d) << file << ": " << d.error().message << " at " << d.error().pointer;
    return d ? std::make_shared<const projector_definition>(std::move(*d)) : nullptr;
}

class user_projector_examples : public testing::TestWithParam<test::backend> {
  protected:
    std::unique_ptr<store> open(test::temp_dir& dir) {
        return test::open_or_die(GetParam().fresh_url(dir), {.durable = false});
    }

    static void publish(store& s, std::string topic, std::string_view payload,
                        std::string key = "k", std::int64_t ts = 0) {
        event_input e;
        e.topic = std::move(topic);
        e.key = std::move(key);
        e.payload = *parse_json(payload);
        if (ts) e.ts = ts_ms{ts};
        ASSERT_TRUE(bus(s).publish(std::move(e)));
    }

    static std::string body(store& s, std::string_view coll, std::string_view key) {
        auto d = s.find_one(coll, key);
        return d && *d ? (*d)->body : "";
    }

    static std::unique_ptr<projector> run(store& s, std::string topic, projector_handler h) {
        return start_transactional_projector(s, {.topic = std::move(topic),
                                                 .group = "example",
                                                 .handler = std::move(h),
                                                 .retries = 1,
                                                 .backoff = 1ms});
    }
};

TEST_P(user_projector_examples, process_txn_as_a_definition_matches_the_built_in_byte_for_byte) {
    auto d = load_example("process.txn.json");
    ASSERT_NE(d, nullptr);
    test::temp_dir dir_a, dir_b;
    auto built_in = open(dir_a);
    auto user = open(dir_b);
    // The same events (same ts) in both logs: several processes on two hosts, repeated
    // states, a payload that carries its own _key and _ts, nested and null values.
    std::vector<std::string> payloads;
    for (int i = 0; i < 60; ++i) {
        std::string host = i % 3 ? "alpha" : "beta";
        std::string pid = std::to_string(100 + i % 7);
        payloads.push_back(R"({"processId":")" + host + ":svc:" + pid + R"(","pid":)" + pid +
                           R"(,"name":"svc","host":")" + host + R"(","cpu_pct":)" +
                           std::to_string(i * 0.5) + R"(,"mem_mb":)" +
                           (i % 5 ? std::to_string(i) : "null") + R"(,"status":")" +
                           (i % 4 ? "alive" : "stale") + R"(","last_seen":)" +
                           std::to_string(1700000000000 + i) + "}");
    }
    payloads.push_back(
        R"({"processId":"x:y:1","host":"gamma","_key":"ignored","_ts":5,"tags":{"a":[1,2.5,"z"]}})");
    for (store* s : {built_in.get(), user.get()}) {
        for (std::size_t i = 0; i < payloads.size(); ++i) {
            publish(*s, "process.state", payloads[i], "k",
                    1700000001000 + static_cast<std::int64_t>(i) * 10);
        }
    }
    const seq_t n = static_cast<seq_t>(payloads.size());
    auto a = run(*built_in, "process.state", process::project_process_state);
    auto b = run(*user, "process.state", make_user_handler(d));
    ASSERT_TRUE(a->wait_until(seq_t{n}, 20s));
    ASSERT_TRUE(b->wait_until(seq_t{n}, 20s));
    for (std::string collection : {"processes", "host_stats"}) {
        auto x = built_in->find({.collection = collection, .limit = 1000});
        auto y = user->find({.collection = collection, .limit = 1000});
        ASSERT_TRUE(x && y);
        ASSERT_EQ(x->size(), y->size()) << collection;
        ASSERT_FALSE(x->empty());
        for (std::size_t i = 0; i < x->size(); ++i) {
            EXPECT_EQ((*x)[i].key, (*y)[i].key);
            EXPECT_EQ((*x)[i].body, (*y)[i].body);
            EXPECT_EQ((*x)[i].etag, (*y)[i].etag);
            EXPECT_EQ((*x)[i].ts, (*y)[i].ts);
        }
    }
}

TEST_P(user_projector_examples, orders_counts_per_customer_and_audits_paid_and_cancelled_orders) {
    auto d = load_example("orders.json");
    ASSERT_NE(d, nullptr);
    test::temp_dir dir;
    auto s = open(dir);
    publish(*s, "order.events", R"({"orderId":"o1","customer":"ann","status":"draft","total":10})");
    publish(*s, "order.events",
            R"({"orderId":"o1","customer":"ann","status":"placed","total":10})");
    publish(*s, "order.events", R"({"orderId":"o1","customer":"ann","status":"paid","total":10})");
    publish(*s, "order.events", R"({"orderId":"o2","customer":"ann","status":"paid","total":5.5})");
    publish(*s, "order.events",
            R"({"orderId":"o3","customer":"bob","status":"cancelled","total":1})");
    auto p = run(*s, "order.events", make_user_handler(d));
    ASSERT_TRUE(p->wait_until(seq_t{5}, 20s));
    auto ann = parse_json(body(*s, "customer_stats", "ann"));
    ASSERT_TRUE(ann);
    EXPECT_EQ(ann->at("events").as_int64(), 3);
    EXPECT_EQ(ann->at("paidOrders").as_int64(), 2);
    EXPECT_EQ(ann->at("revenue").as_double(), 15.5);
    EXPECT_EQ(ann->at("lastStatus").as_string(), "paid");
    auto o1 = parse_json(body(*s, "orders", "o1"));
    ASSERT_TRUE(o1);
    EXPECT_EQ(o1->at("revisions").as_int64(), 2);
    EXPECT_EQ(o1->at("status").as_string(), "paid");
    auto audit = s->scan({.topic = "audit.order"});
    ASSERT_TRUE(audit);
    ASSERT_EQ(audit->size(), 3u);
    EXPECT_EQ((*audit)[2].headers.at("customer"), "bob");
    EXPECT_EQ(p->metrics().dead_lettered.load(), 0u);
}

TEST_P(user_projector_examples,
       order_lifecycle_applies_allowed_transitions_and_rejects_the_others) {
    auto d = load_example("order-lifecycle.json");
    ASSERT_NE(d, nullptr);
    test::temp_dir dir;
    auto s = open(dir);
    publish(*s, "order.events", R"({"orderId":"o1","customer":"ann","status":"placed"})");
    publish(*s, "order.events",
            R"({"orderId":"o1","customer":"ann","status":"shipped"})");  // not yet paid
    publish(*s, "order.events", R"({"orderId":"o1","customer":"ann","status":"paid"})");
    publish(*s, "order.events", R"({"orderId":"o1","customer":"ann","status":"shipped"})");
    publish(*s, "order.events",
            R"({"orderId":"o1","customer":"ann","status":"delivered","total":30})");
    publish(*s, "order.events",
            R"({"orderId":"o2","customer":"ann","status":"paid"})");    // never placed
    publish(*s, "order.events", R"({"orderId":3,"status":"placed"})");  // bad: dead letter
    auto p = run(*s, "order.events", make_user_handler(d));
    ASSERT_TRUE(p->wait_until(seq_t{7}, 20s));
    auto o1 = parse_json(body(*s, "order_lifecycle", "o1"));
    ASSERT_TRUE(o1) << body(*s, "order_lifecycle", "o1");
    EXPECT_EQ(o1->at("state").as_string(), "delivered");
    EXPECT_EQ(o1->at("transitions").as_int64(), 4);
    EXPECT_EQ(o1->at("rejected").as_int64(), 1);
    EXPECT_EQ(o1->at("lastRejected").as_string(), "placed->shipped");
    EXPECT_EQ(o1->at("history").as_object().size(), 4u);
    auto o2 = parse_json(body(*s, "order_lifecycle", "o2"));
    ASSERT_TRUE(o2);
    EXPECT_FALSE(o2->as_object().contains("state"));
    EXPECT_NE(body(*s, "customer_lifetime", "ann").find("\"spent\":30"), std::string::npos);
    auto alerts = s->scan({.topic = "alerts.order"});
    ASSERT_TRUE(alerts);
    ASSERT_EQ(alerts->size(), 2u);
    EXPECT_TRUE((*alerts)[1].payload.at("from").is_null());
    // The dead-letter topic, not the metric: wait_until returns on the durable cursor,
    // which commits before the metric moves.
    auto dlq = s->scan({.topic = "order.events.dlq"});
    ASSERT_TRUE(dlq);
    ASSERT_EQ(dlq->size(), 1u);
    EXPECT_NE(dlq->front().headers.at("prom-error").find("orderId"), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(backends, user_projector_examples,
                         testing::ValuesIn(test::contract_backends()), test::backend_name);

}  // namespace
}  // namespace prom
