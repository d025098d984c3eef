// The admin side of user-defined projectors over HTTP: PUT/GET/DELETE /projectors, live
// apply without a restart, the failed state, rebuilds that swap atomically, the reserved
// registry collection, and the admin permission (docs/projectors.md).
#include <atomic>
#include <fstream>
#include <future>
#include <thread>

#include "support/cli_runner.hpp"
#include "support/server_fixture.hpp"

namespace prom::test {
namespace {

using namespace std::chrono_literals;

constexpr std::string_view counts_v1 =
    R"({"name":"counts","version":1,"topic":"order.*",)"
    R"("writes":[{"collection":"orders","key":"{key}","update":{"$inc":{"n":1},"$set":{"v":1}}}]})";

// Fails for every event: the key refers to a field no event has.
constexpr std::string_view broken =
    R"({"name":"broken","version":1,"topic":"order.*",)"
    R"("writes":[{"collection":"broken_docs","key":"{payload.missing}","update":{"$inc":{"n":1}}}]})";

using test::eventually;

class projector_admin : public server_test {
  protected:
    http_reply put_projector(std::string_view name, std::string_view body,
                             std::vector<std::pair<std::string, std::string>> headers = {}) {
        headers.emplace_back("Content-Type", "application/json");
        return http_request(port(), "PUT", "/projectors/" + std::string(name), headers, body);
    }
    http_reply del(std::string_view target,
                   const std::vector<std::pair<std::string, std::string>>& headers = {}) {
        return http_request(port(), "DELETE", target, headers);
    }
    void publish(std::string_view topic, std::string_view key, std::string_view payload = "{}") {
        auto r = post_json("/publish", R"({"topic":")" + std::string(topic) + R"(","key":")" +
                                           std::string(key) + R"(","payload":)" +
                                           std::string(payload) + "}");
        ASSERT_EQ(r.status, 200) << r.body;
    }
    json::object status_of(std::string_view name) {
        auto r = get("/projectors/" + std::string(name));
        EXPECT_EQ(r.status, 200) << r.body;
        auto v = parse_json(r.body);
        return v && v->is_object() ? v->get_object() : json::object{};
    }
    // The JSON of /collections/{c}/snap/{k}, or null when it is not 200.
    json::value doc(std::string_view collection, std::string_view key) {
        auto r = get("/collections/" + std::string(collection) + "/snap/" + std::string(key));
        if (r.status != 200) return nullptr;
        return *parse_json(r.body);
    }
    bool doc_has(std::string_view c, std::string_view k, std::string_view field, std::int64_t n) {
        auto d = doc(c, k);
        return d.is_object() && d.get_object().contains(field) && d.at(field) == n;
    }
};

TEST_F(projector_admin, put_creates_and_runs_a_definition_without_a_restart) {
    publish("order.created", "o1");
    auto r = put_projector("counts", counts_v1);
    ASSERT_EQ(r.status, 201) << r.body;
    auto body = parse_json(r.body);
    ASSERT_TRUE(body);
    EXPECT_EQ(body->at("name"), "counts");
    EXPECT_EQ(body->at("version"), 1);
    EXPECT_TRUE(body->at("definition").is_object());
    publish("order.paid", "o1");
    publish("order.created", "o2");
    ASSERT_TRUE(eventually([&] { return doc_has("orders", "o1", "n", 2); }));
    ASSERT_TRUE(eventually([&] { return doc_has("orders", "o2", "n", 1); }));

    ASSERT_TRUE(eventually([&] { return status_of("counts").at("lag") == 0; }));
    auto st = status_of("counts");
    EXPECT_EQ(st.at("state"), "running");
    EXPECT_EQ(st.at("applied"), 3);
    EXPECT_EQ(st.at("errors"), 0);
    EXPECT_EQ(st.at("dead_lettered"), 0);
    EXPECT_TRUE(st.at("last_error").is_null());
    EXPECT_EQ(st.at("cursors").at("order.created"), 2);
    EXPECT_EQ(st.at("cursors").at("order.paid"), 1);
    EXPECT_EQ(st.at("cursor"), 3);  // a prefix pattern: the sum over its topics
    EXPECT_EQ(st.at("group"), "projector.counts");

    auto list = parse_json(get("/projectors").body);
    ASSERT_TRUE(list);
    EXPECT_EQ(list->at("count"), 1);
    EXPECT_EQ(list->at("items").at(0).at("name"), "counts");
    auto metrics = get("/metrics").body;
    EXPECT_NE(
        metrics.find(
            R"(prom_user_projector_applied_total{projector="counts",topic="order.created"} 2)"),
        std::string::npos)
        << metrics;
    EXPECT_FALSE(list->at("items").at(0).get_object().contains("definition"));
}

TEST_F(projector_admin, the_same_definition_again_is_200_and_a_lower_version_409) {
    ASSERT_EQ(put_projector("counts", counts_v1).status, 201);
    EXPECT_EQ(put_projector("counts", counts_v1).status, 200);
    std::string v2(counts_v1);
    v2.replace(v2.find(R"("version":1)"), 11, R"("version":2)");
    auto r2 = put_projector("counts", v2);
    EXPECT_EQ(r2.status, 200) << r2.body;
    auto r = put_projector("counts", counts_v1);
    EXPECT_EQ(r.status, 409) << r.body;
    EXPECT_EQ(parse_json(r.body)->at("error"), "conflict");
    EXPECT_EQ(status_of("counts").at("version"), 2);
    // A rebuild below a pending one is lower too (found from outside: 9 replaced 10). A
    // topic with events keeps the rebuild at 10 pending while 9 is tried.
    for (int i = 0; i < 200; ++i) publish("order.created", "k" + std::to_string(i));
    auto rebuild_at = [&](int version) {
        std::string v(counts_v1);
        v.replace(v.find(R"("version":1)"), 11,
                  R"("version":)" + std::to_string(version) + R"(,"rebuild":true)");
        v.replace(v.find(R"("v":1)"), 5, R"("v":)" + std::to_string(version));
        return put_projector("counts", v);
    };
    EXPECT_EQ(rebuild_at(10).status, 200);
    auto lower = rebuild_at(9);
    EXPECT_EQ(lower.status, 409) << lower.body;
    auto st = status_of("counts");
    if (st.contains("rebuild"))
        EXPECT_EQ(st.at("rebuild").at("version"), 10);
    else
        EXPECT_EQ(st.at("version"), 10);  // swapped already
}

TEST_F(projector_admin, a_name_in_the_path_fills_the_body_or_must_match_it) {
    std::string unnamed(counts_v1);
    unnamed.erase(unnamed.find(R"("name":"counts",)"), 16);
    auto r = put_projector("filled", unnamed);
    EXPECT_EQ(r.status, 201) << r.body;
    EXPECT_EQ(parse_json(r.body)->at("name"), "filled");
    auto bad = put_projector("other", counts_v1);
    EXPECT_EQ(bad.status, 422);
    auto v = parse_json(bad.body);
    EXPECT_EQ(v->at("error"), "invalid_projector");
    EXPECT_EQ(v->at("path"), "/name");
    EXPECT_EQ(get("/projectors/other").status, 404);
}

TEST_F(projector_admin, bad_input_is_refused_and_changes_nothing) {
    ASSERT_EQ(put_projector("counts", counts_v1).status, 201);
    auto before = status_of("counts");

    // An invalid definition: 422 with a JSON Pointer to the field.
    std::string bad_inc(counts_v1);
    bad_inc.replace(bad_inc.find(R"("$inc":{"n":1})"), 14, R"("$inc":{"n":"x"})");
    bad_inc.replace(bad_inc.find(R"("version":1)"), 11, R"("version":3)");
    auto r = put_projector("counts", bad_inc);
    ASSERT_EQ(r.status, 422) << r.body;
    auto v = parse_json(r.body);
    EXPECT_EQ(v->at("error"), "invalid_projector");
    EXPECT_TRUE(v->at("message").is_string());
    EXPECT_EQ(v->at("path"), "/writes/0/update/$inc/n") << r.body;

    auto unknown_field =
        put_projector("x1", R"({"name":"x1","version":1,"topic":"a","writes":[],"bogus":1})");
    EXPECT_EQ(unknown_field.status, 422) << unknown_field.body;
    EXPECT_EQ(put_projector("x2", "{not json").status, 400);
    // Each message names the actual problem.
    auto empty_topic = put_projector("x6", R"({"name":"x6","version":1,"topic":"","writes":[]})");
    EXPECT_EQ(empty_topic.status, 422);
    EXPECT_NE(empty_topic.body.find("must not be empty"), std::string::npos) << empty_topic.body;
    auto number_name = put_projector("x7", R"({"name":7,"version":1,"topic":"a","writes":[]})");
    EXPECT_EQ(number_name.status, 422);
    EXPECT_NE(number_name.body.find("'name' must be a string"), std::string::npos)
        << number_name.body;
    // A key given twice: which one was meant cannot be known (docs/http-api.md).
    auto twice =
        put_projector("x8", R"({"name":"x8","version":1,"topic":"a","topic":"b","writes":[]})");
    EXPECT_EQ(twice.status, 400);
    EXPECT_NE(twice.body.find("duplicate key at '/topic'"), std::string::npos) << twice.body;
    EXPECT_EQ(put_projector("x3", "[1,2]").status, 422);
    EXPECT_EQ(
        http_request(port(), "PUT", "/projectors/x4", {{"Content-Type", "text/plain"}}, counts_v1)
            .status,
        415);
    std::string huge = R"({"name":"x5","version":1,"topic":"a","pad":")" +
                       std::string(std::size_t{300} * 1024, 'a') + "\"}";
    auto too_big = put_projector("x5", huge);
    EXPECT_EQ(too_big.status, 413);
    auto bad_name = put_projector("no%20spaces", counts_v1);
    EXPECT_EQ(bad_name.status, 422);
    EXPECT_EQ(parse_json(bad_name.body)->at("path"), "/name");
    // Writing into prom's own collections is refused.
    auto reserved = put_projector(
        "sneaky",
        R"({"name":"sneaky","version":1,"topic":"a",)"
        R"("writes":[{"collection":"_prom.projectors","key":"{key}","update":{"$set":{"x":1}}}]})");
    EXPECT_EQ(reserved.status, 422) << reserved.body;
    EXPECT_EQ(parse_json(reserved.body)->at("path"), "/writes/0/collection");

    EXPECT_EQ(http_request(port(), "POST", "/projectors/counts").status, 405);
    EXPECT_EQ(http_request(port(), "PUT", "/projectors").status, 405);
    EXPECT_EQ(get("/projectors/nope").status, 404);
    EXPECT_EQ(del("/projectors/nope").status, 404);

    auto list = parse_json(get("/projectors").body);
    EXPECT_EQ(list->at("count"), 1);  // nothing else was stored
    auto after = status_of("counts");
    EXPECT_EQ(after.at("version"), before.at("version"));
    EXPECT_EQ(after.at("definition"), before.at("definition"));
}

TEST_F(projector_admin, delete_stops_the_projector_and_keeps_its_documents) {
    ASSERT_EQ(put_projector("counts", counts_v1).status, 201);
    publish("order.created", "o1");
    ASSERT_TRUE(eventually([&] { return doc_has("orders", "o1", "n", 1); }));
    auto r = del("/projectors/counts");
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(get("/projectors/counts").status, 404);
    EXPECT_EQ(del("/projectors/counts").status, 404);
    publish("order.created", "o1");
    publish("order.created", "o9");
    std::this_thread::sleep_for(300ms);  // a stopped projector must stay stopped: give it time
    EXPECT_TRUE(doc_has("orders", "o1", "n", 1));
    EXPECT_TRUE(doc(("orders"), "o9").is_null());
    // Created again, it continues from where the deleted one stopped.
    ASSERT_EQ(put_projector("counts", counts_v1).status, 201);
    ASSERT_TRUE(eventually([&] { return doc_has("orders", "o1", "n", 2); }));
    EXPECT_TRUE(doc_has("orders", "o9", "n", 1));
}

TEST_F(projector_admin, a_definition_failing_for_every_event_ends_failed_and_others_keep_working) {
    ASSERT_EQ(put_projector("counts", counts_v1).status, 201);
    ASSERT_EQ(put_projector("broken", broken).status, 201);
    for (int i = 0; i < 8; ++i) publish("order.created", "k" + std::to_string(i));
    ASSERT_TRUE(eventually([&] { return status_of("broken").at("state") == "failed"; }, 30s))
        << canonical_json(status_of("broken"));
    auto st = status_of("broken");
    ASSERT_TRUE(st.at("last_error").is_string());
    EXPECT_NE(st.at("last_error").get_string().find("missing"), std::string::npos)
        << st.at("last_error");
    for (int i = 0; i < 8; ++i) {
        ASSERT_TRUE(eventually([&] { return doc_has("orders", "k" + std::to_string(i), "n", 1); }));
    }
    publish("order.created", "later");
    ASSERT_TRUE(eventually([&] { return doc_has("orders", "later", "n", 1); }));
    EXPECT_EQ(status_of("counts").at("state"), "running");
    EXPECT_EQ(status_of("broken").at("state"), "failed");
    // Its collection still has a writer, stopped at its cursor (found from outside: 422
    // "no projector" for reads and publishes with wait_for): what it passed is answered,
    // what it will not reach is 503 not_caught_up.
    auto passed = get("/collections/broken_docs/list?after=order.created:1");
    EXPECT_EQ(passed.status, 200) << passed.body;
    auto beyond = get("/collections/broken_docs/list?after=order.created:9&wait=1");
    EXPECT_EQ(beyond.status, 503) << beyond.body;
    EXPECT_NE(beyond.body.find("not_caught_up"), std::string::npos) << beyond.body;
}

// Applied again after failing, a definition runs again, and its status still shows the last
// failure it met on this node beside its error counts (found from outside: last_error went
// null while the counts stayed).
TEST_F(projector_admin, applied_again_after_failing_it_keeps_showing_its_last_error) {
    ASSERT_EQ(put_projector("broken", broken).status, 201);
    for (int i = 0; i < 5; ++i) publish("order.created", "k" + std::to_string(i));
    ASSERT_TRUE(eventually(
        [&] {
            auto st = status_of("broken");
            return st.at("state") == "failed" && st.at("errors") != 0;  // this node caught up
        },
        30s));
    const auto errors = status_of("broken").at("errors");
    ASSERT_EQ(put_projector("broken", broken).status, 200);
    // Nothing is left to fail; it starts once the failed projector's lease ran out (5 s).
    ASSERT_TRUE(eventually([&] { return status_of("broken").at("state") == "running"; }, 15s))
        << canonical_json(status_of("broken"));
    auto again = status_of("broken");
    EXPECT_EQ(again.at("errors"), errors);
    ASSERT_TRUE(again.at("last_error").is_string()) << canonical_json(again);
    EXPECT_NE(again.at("last_error").get_string().find("missing"), std::string::npos);
}

// Two nodes on one database: the node whose projector failed keeps the lease until it runs
// out, so the standby does not take the group over and dead-letter five more events before
// it reads `failed` in the registry (found from outside: 10 dead letters, cursor at 10).
TEST_F(projector_admin, a_failed_definition_is_not_taken_over_by_another_node) {
    auto other = server::node::start(make_config());
    ASSERT_TRUE(other) << other.error().message;
    ASSERT_EQ(put_projector("broken", broken).status, 201);
    // Both nodes run the definition (one active, one standing by) before the events come.
    ASSERT_TRUE(eventually([&] {
        auto r = http_request((*other)->port(), "GET", "/projectors/broken");
        return r.status == 200 && r.body.find("\"running\"") != std::string::npos;
    }));
    std::string batch = R"({"events":[)";
    for (int i = 0; i < 12; ++i) {
        batch += (i ? "," : "") + std::string(R"({"topic":"order.created","key":"k)") +
                 std::to_string(i) + R"(","payload":{}})";
    }
    ASSERT_EQ(post_json("/publish", batch + "]}").status, 200);
    ASSERT_TRUE(eventually([&] { return status_of("broken").at("state") == "failed"; }, 30s));
    // Past the lease (5 s): a standby that took it over would have dead-lettered by now.
    std::this_thread::sleep_for(6500ms);
    auto dlq = parse_json(get("/dlq/order.created").body);
    ASSERT_TRUE(dlq && dlq->is_object());
    EXPECT_EQ(dlq->at("count"), 5) << canonical_json(*dlq);
    EXPECT_EQ(status_of("broken").at("cursor"), 5) << canonical_json(status_of("broken"));
    (*other)->stop();
}

// Two processes creating one new name at once: one creates it, the other replaces it or is
// refused, and a lower version never replaces a higher one. On PostgreSQL both read "no
// such definition" and both answered 201, the lower version winning (found from outside).
// Processes, not nodes of this one: applies within one process wait for each other anyway.
TEST_F(projector_admin, two_processes_creating_one_name_at_once_keep_the_higher_version) {
    auto write_body = [&](const std::string& name, int version) {
        std::string path = dir_.file(name + "-v" + std::to_string(version) + ".json");
        std::ofstream(path) << R"({"name":")" << name << R"(","version":)" << version
                            << R"(,"topic":"r.t","writes":[{"collection":"rc","key":"{key}",)"
                            << R"("update":{"$set":{"v":)" << version << "}}}]}";
        return path;
    };
    const std::string db = " --db '" + db_url_ + "'";
    for (int round = 0; round < 8; ++round) {
        const std::string name = "race" + std::to_string(round);
        const std::string v5 = write_body(name, 5), v3 = write_body(name, 3);
        auto high = std::async(std::launch::async,
                               [&] { return run_prom("projector apply " + v5 + db, true); });
        auto low = std::async(std::launch::async,
                              [&] { return run_prom("projector apply " + v3 + db, true); });
        auto h = high.get(), l = low.get();
        const bool high_created = h.out.find("\"created\"") != std::string::npos;
        const bool low_created = l.out.find("\"created\"") != std::string::npos;
        EXPECT_NE(high_created, low_created) << h.out << " | " << l.out;
        if (high_created) {
            EXPECT_NE(l.out.find("lower than the stored version 5"), std::string::npos) << l.out;
        }
        EXPECT_EQ(status_of(name).at("version"), 5) << h.out << " | " << l.out;
    }
}

TEST_F(projector_admin, the_registry_is_not_served_by_the_document_routes) {
    ASSERT_EQ(put_projector("counts", counts_v1).status, 201);
    EXPECT_EQ(get("/collections/_prom.projectors/snap/counts").status, 404);
    EXPECT_EQ(get("/collections/_prom.projectors/list").status, 404);
    EXPECT_EQ(head("/collections/_prom.projectors/snap/counts").status, 404);
}

TEST_F(projector_admin, a_rebuild_projects_into_shadows_and_swaps_without_readers_seeing_a_gap) {
    ASSERT_EQ(put_projector("counts", counts_v1).status, 201);
    constexpr int keys = 20;
    for (int round = 0; round < 3; ++round) {
        for (int k = 0; k < keys; ++k) publish("order.created", "o" + std::to_string(k));
    }
    for (int k = 0; k < keys; ++k) {
        ASSERT_TRUE(eventually([&] { return doc_has("orders", "o" + std::to_string(k), "n", 3); }));
    }
    std::atomic<bool> stop{false};
    std::atomic<int> bad{0}, reads{0};
    std::string first_bad;
    std::thread reader([&] {
        while (!stop) {
            for (int k = 0; k < keys && !stop; ++k) {
                auto d = doc("orders", "o" + std::to_string(k));
                ++reads;
                if (!d.is_object() || d.at("n") != 3) {
                    if (bad++ == 0) first_bad = d.is_null() ? "404" : canonical_json(d);
                }
            }
        }
    });
    std::string v2 =
        R"({"name":"counts","version":2,"rebuild":true,"topic":"order.*",)"
        R"("writes":[{"collection":"orders","key":"{key}","update":{"$inc":{"n":1},"$set":{"v":2}}}]})";
    auto r = put_projector("counts", v2);
    ASSERT_EQ(r.status, 200) << r.body;
    ASSERT_TRUE(eventually([&] { return doc_has("orders", "o0", "v", 2); }, 30s));
    for (int k = 0; k < keys; ++k) {
        ASSERT_TRUE(eventually([&] { return doc_has("orders", "o" + std::to_string(k), "v", 2); }));
    }
    stop = true;
    reader.join();
    EXPECT_EQ(bad.load(), 0) << "first bad read: " << first_bad;
    EXPECT_GT(reads.load(), keys);
    auto st = status_of("counts");
    EXPECT_EQ(st.at("version"), 2);
    EXPECT_EQ(st.at("state"), "running");
    EXPECT_NE(st.at("group"), "projector.counts");
    EXPECT_TRUE(st.at("collections").at("orders").get_string().starts_with("_prom."));
    // The list route reads the swapped collection too.
    auto list = parse_json(get("/collections/orders/list?limit=100").body);
    EXPECT_EQ(list->at("count"), keys);
    // New events go to the new version only.
    publish("order.created", "o0");
    ASSERT_TRUE(eventually([&] { return doc_has("orders", "o0", "n", 4); }));
}

// A held read of a collection a rebuild swaps is answered at the swap, not at its deadline:
// the registry's change wakes it and it reads through the new alias (found from outside).
TEST_F(projector_admin, a_swap_wakes_a_held_read_of_the_swapped_collection) {
    const std::string v1 =
        R"({"name":"hw","version":1,"topic":"hw.t","writes":[{"collection":"hwc","key":"{key}","update":{"$inc":{"n":1}}}]})";
    const std::string v2 =
        R"({"name":"hw","version":2,"rebuild":true,"topic":"hw.t","writes":[{"collection":"hwc","key":"{key}","update":{"$inc":{"n":10}}}]})";
    ASSERT_EQ(put_projector("hw", v1).status, 201);
    for (int i = 0; i < 3; ++i) publish("hw.t", "a");
    ASSERT_TRUE(eventually([&] { return doc_has("hwc", "a", "n", 3); }, 10s));
    auto etag = *get("/collections/hwc/snap/a").header("ETag");
    auto held = std::async(std::launch::async, [&] {
        return get("/collections/hwc/snap/a", {{"If-None-Match", etag}, {"Prefer", "wait=20"}});
    });
    ASSERT_TRUE(gauge_becomes("prom_http_change_waiters", 1));
    const auto t0 = std::chrono::steady_clock::now();
    ASSERT_EQ(put_projector("hw", v2).status, 200);
    auto r = held.get();
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 10s);
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_NE(r.body.find(R"("n":30)"), std::string::npos) << r.body;
}

TEST_F(projector_admin, a_replacement_without_rebuild_continues_from_the_cursor) {
    ASSERT_EQ(put_projector("counts", counts_v1).status, 201);
    publish("order.created", "o1");
    ASSERT_TRUE(eventually([&] { return doc_has("orders", "o1", "n", 1); }));
    std::string v2 =
        R"({"name":"counts","version":2,"topic":"order.*",)"
        R"("writes":[{"collection":"orders","key":"{key}","update":{"$inc":{"n":10},"$set":{"v":2}}}]})";
    ASSERT_EQ(put_projector("counts", v2).status, 200);
    publish("order.created", "o1");
    ASSERT_TRUE(eventually([&] { return doc_has("orders", "o1", "n", 11); }));
    EXPECT_TRUE(doc_has("orders", "o1", "v", 2));
    EXPECT_EQ(status_of("counts").at("group"), "projector.counts");
}

// docs/operations.md: the counters start at 0 with the process, and only grow while it runs:
// a new version of a definition carries on from what the old one counted.
TEST_F(projector_admin, counters_carry_over_a_new_version) {
    // The value of one /metrics series of projector "counts" on order.created, -1 if absent.
    auto series = [&](std::string_view metric) {
        auto m = get("/metrics").body;
        const std::string line =
            std::string(metric) + R"({projector="counts",topic="order.created"} )";
        auto at = m.find(line);
        return at == std::string::npos ? -1 : std::stoll(m.substr(at + line.size()));
    };
    auto applied = [&] { return series("prom_user_projector_applied_total"); };
    ASSERT_EQ(put_projector("counts", counts_v1).status, 201);
    publish("order.created", "o1");
    publish("order.created", "o2");
    ASSERT_TRUE(eventually([&] { return applied() == 2; })) << applied();
    std::string v2(counts_v1);
    v2.replace(v2.find(R"("version":1)"), 11, R"("version":2)");
    ASSERT_EQ(put_projector("counts", v2).status, 200);
    publish("order.created", "o3");
    ASSERT_TRUE(eventually([&] { return doc_has("orders", "o3", "n", 1); }));
    EXPECT_TRUE(eventually([&] { return applied() == 3; })) << applied();
    auto batches = [&] { return series("prom_user_projector_apply_duration_seconds_count"); };
    const auto batches_before = batches();
    EXPECT_GE(batches_before, 2);  // the histogram carries over a new version too

    // A rebuild applies the three events again; once swapped in, its counts add to the
    // earlier versions' (found from outside: 3 before the swap, 3 after, and the histogram's
    // count went back to 0).
    std::string v3(counts_v1);
    v3.replace(v3.find(R"("version":1)"), 11, R"("version":3,"rebuild":true)");
    ASSERT_EQ(put_projector("counts", v3).status, 200);
    EXPECT_TRUE(eventually([&] {
        auto st = status_of("counts");
        return st.at("version") == json::value(3) && !st.contains("rebuild");
    }));
    EXPECT_TRUE(eventually([&] { return applied() == 6; })) << applied();
    EXPECT_GE(batches(), batches_before + 1);
}

class projector_admin_auth : public projector_admin {
  protected:
    server::serve_config make_config() override {
        auto c = projector_admin::make_config();
        auto p = auth::auth_policy::from_json(
            *parse_json(R"({"tokens":[{"token":"admin-token","admin":["*"],"read":["*"]},)"
                        R"({"token":"orders-admin","admin":["ord*"]},)"
                        R"({"token":"reader-token","read":["*"],"publish":["*"]},)"
                        R"({"token":"mine-admin","admin":["mine*"],"subscribe":["mine*"],)"
                        R"("read":["mine*"]}]})"));
        EXPECT_TRUE(p);
        c.auth = std::move(*p);
        return c;
    }
};

TEST_F(projector_admin_auth, the_routes_need_the_admin_permission) {
    using headers = std::vector<std::pair<std::string, std::string>>;
    headers admin{{"Authorization", "Bearer admin-token"}};
    headers orders{{"Authorization", "Bearer orders-admin"}};
    headers reader{{"Authorization", "Bearer reader-token"}};
    EXPECT_EQ(put_projector("counts", counts_v1).status, 401);
    EXPECT_EQ(put_projector("counts", counts_v1, reader).status, 403);
    EXPECT_EQ(put_projector("counts", counts_v1, orders).status, 403);
    EXPECT_EQ(get("/projectors").status, 401);
    EXPECT_EQ(get("/projectors", reader).status, 403);
    EXPECT_EQ(get("/projectors/counts", reader).status, 403);
    EXPECT_EQ(del("/projectors/counts", reader).status, 403);
    // A name no projector can have is no exception (found from outside: 404 without a token).
    for (const char* path : {"/projectors/a%20b", "/projectors/%2A"}) {
        EXPECT_EQ(get(path).status, 401) << path;
        EXPECT_EQ(del(path).status, 401) << path;
        EXPECT_EQ(get(path, reader).status, 403) << path;
        EXPECT_EQ(get(path, admin).status, 404) << path;
    }
    ASSERT_EQ(put_projector("counts", counts_v1, admin).status, 201);
    std::string orders_def(counts_v1);
    orders_def.replace(orders_def.find(R"("name":"counts")"), 15, R"("name":"orders1")");
    ASSERT_EQ(put_projector("orders1", orders_def, orders).status, 201);
    EXPECT_EQ(parse_json(get("/projectors", admin).body)->at("count"), 2);
    auto mine = parse_json(get("/projectors", orders).body);
    EXPECT_EQ(mine->at("count"), 1);
    EXPECT_EQ(mine->at("items").at(0).at("name"), "orders1");
    EXPECT_EQ(get("/projectors/counts", orders).status, 403);
    EXPECT_EQ(get("/projectors/counts", admin).status, 200);
    // A read grant of "*" does not reach the registry.
    EXPECT_EQ(get("/collections/_prom.projectors/list", admin).status, 404);
    EXPECT_EQ(get("/collections/_prom.projectors/snap/counts", reader).status, 404);
    EXPECT_EQ(del("/projectors/counts", admin).status, 200);
}

// The admin right over a projector's name is no right over what it reads, writes or emits.
TEST_F(projector_admin_auth, a_definition_needs_rights_over_what_it_reads_writes_and_emits) {
    using headers = std::vector<std::pair<std::string, std::string>>;
    headers mine{{"Authorization", "Bearer mine-admin"}};
    headers admin{{"Authorization", "Bearer admin-token"}};
    auto put = [&](std::string_view name, const std::string& rest) {
        return put_projector(name, R"({"version":1,)" + rest + "}", mine);
    };
    const std::string emit_mine =
        R"("emit":[{"topic":"mine.out","key":"{key}","payload":"$payload"}])";
    const std::string refused[] = {
        // reading a topic the token may not subscribe to
        R"("topic":"secret",)" + emit_mine,
        R"("topic":"mi*","writes":[{"collection":"mine_docs","key":"{key}","update":{"$inc":{"n":1}}}])",
        // writing a collection it has no admin right on
        R"("topic":"mine.in","writes":[{"collection":"processes","key":"{key}","update":{"$set":{"s":1}}}])",
        // emitting where it may not publish
        R"("topic":"mine.in","emit":[{"topic":"orders","key":"{key}","payload":1}])",
        // a Lua handler reads every collection and emits anywhere
        R"("topic":"mine.in","collections":["mine_docs"],"lua":"function handle(e, tx) end")",
    };
    for (const auto& rest : refused) {
        auto r = put("mine-x", rest);
        EXPECT_EQ(r.status, 403) << rest << ": " << r.body;
        EXPECT_EQ(parse_json(r.body)->at("error"), "forbidden") << r.body;
    }
    EXPECT_EQ(get("/projectors/mine-x", admin).status, 404);
    // Within its rights: its own topics and collections.
    auto ok = put(
        "mine-ok",
        R"("topic":"mine.*","writes":[{"collection":"mine_docs","key":"{key}","update":{"$inc":{"n":1}}}])");
    EXPECT_EQ(ok.status, 201) << ok.body;
}

}  // namespace
}  // namespace prom::test
