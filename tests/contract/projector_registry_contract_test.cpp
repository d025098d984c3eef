// The registry of user-defined projectors and its supervisor on every backend: versions,
// tombstones, failures, the rebuild swap and the aliases it leaves (docs/projectors.md).
#include <gtest/gtest.h>

#include <algorithm>

#include "ops/dlq.hpp"
#include "prom/bus.hpp"
#include "retention/retention.hpp"
#include "support/test_support.hpp"
#include "userproj_runtime/document_erasure.hpp"
#include "userproj_runtime/supervisor.hpp"

namespace prom {
namespace {

using namespace std::chrono_literals;
using userproj::apply_kind;

json::value definition(std::int64_t version, bool rebuild = false, std::string_view name = "counts",
                       std::string_view collection = "orders") {
    return *parse_json(R"({"name":")" + std::string(name) + R"(","version":)" +
                       std::to_string(version) + (rebuild ? R"(,"rebuild":true)" : "") +
                       R"(,"topic":"order.*","writes":[{"collection":")" + std::string(collection) +
                       R"(","key":"{key}","update":{"$inc":{"n":1},"$set":{"v":)" +
                       std::to_string(version) + "}}}]}");
}

class registry_contract : public testing::TestWithParam<test::backend> {
  protected:
    void SetUp() override {
        url_ = GetParam().fresh_url(dir_);
        store_ = test::open_or_die(url_, {.durable = false});
        ASSERT_NE(store_, nullptr);
    }
    void publish(std::string key) {
        event_input e;
        e.topic = "order.created";
        e.key = std::move(key);
        e.payload = json::object{};
        ASSERT_TRUE(bus(*store_).publish(std::move(e)));
    }
    std::int64_t n_of(std::string_view coll, std::string_view key) {
        auto d = store_->find_one(coll, key);
        if (!d || !*d) return -1;
        return parse_json((*d)->body)->at("n").to_number<std::int64_t>();
    }
    // The registry serves `version` of "counts" with no rebuild pending: a rebuild swapped in.
    bool swapped_to(std::int64_t version, std::string_view name = "counts") {
        auto e = userproj::load_entry(*store_, name);
        return e && *e && (*e)->version == version && !(*e)->rebuild;
    }

    // A supervisor running "counts" (version 1) over one event of key k0, projected: how the
    // rebuild and erasure tests begin. The caller stops it.
    userproj::supervisor& counts_v1_over_k0() {
        sup_ = std::make_unique<userproj::supervisor>(*store_, aliases_,
                                                      userproj::supervisor_options{.backoff = 1ms});
        sup_->start();
        EXPECT_TRUE(userproj::apply_definition(*store_, definition(1)));
        publish("k0");
        EXPECT_TRUE(test::eventually([&] { return n_of("orders", "k0") == 1; }, 20s));
        return *sup_;
    }

    // Rebuilds "counts" as `version` and waits for its swap; the shadow it serves "orders"
    // from, or "" (the test has failed) when it did not swap.
    std::string swapped_in(std::int64_t version) {
        auto r = userproj::apply_definition(*store_, definition(version, true));
        EXPECT_TRUE(r);
        if (!r) return "";
        EXPECT_TRUE(test::eventually([&] { return swapped_to(version); }, 20s));
        return r->entry.rebuild->collections.at("orders");
    }

    test::temp_dir dir_;
    std::string url_;
    std::unique_ptr<store> store_;
    userproj::collection_aliases aliases_;
    std::unique_ptr<userproj::supervisor> sup_;
};

TEST_P(registry_contract, versions_decide_between_created_replaced_unchanged_and_conflict) {
    auto a = userproj::apply_definition(*store_, definition(1));
    ASSERT_TRUE(a) << a.error().err.message;
    EXPECT_EQ(a->kind, apply_kind::created);
    EXPECT_EQ(a->entry.group, "projector.counts");
    EXPECT_EQ(userproj::apply_definition(*store_, definition(1))->kind, apply_kind::unchanged);
    EXPECT_EQ(userproj::apply_definition(*store_, definition(3))->kind, apply_kind::replaced);
    auto lower = userproj::apply_definition(*store_, definition(2));
    ASSERT_FALSE(lower);
    EXPECT_EQ(lower.error().err.code, errc::conflict);
    auto e = userproj::load_entry(*store_, "counts");
    ASSERT_TRUE(e && *e);
    EXPECT_EQ((*e)->version, 3);
    EXPECT_EQ((*e)->collections.at("orders"), "orders");
}

// A node whose configuration writes the defaults out (found from outside: counted as
// `replaced`, and its runners restarted, at every restart of that node) changes nothing;
// a field that differs from its default still does.
TEST_P(registry_contract, the_same_definition_with_its_defaults_written_out_is_unchanged) {
    auto bare = userproj::apply_definition(*store_, definition(1));
    ASSERT_TRUE(bare) << bare.error().err.message;
    auto full = definition(1).as_object();
    full["from"] = "earliest";
    full["rebuild"] = false;
    full["description"] = "";
    full["emit"] = json::array{};
    auto again = userproj::apply_definition(*store_, full);
    ASSERT_TRUE(again) << again.error().err.message;
    EXPECT_EQ(again->kind, apply_kind::unchanged);
    EXPECT_EQ(again->entry.generation, bare->entry.generation);
    full["description"] = "counts orders per key";
    auto described = userproj::apply_definition(*store_, full);
    ASSERT_TRUE(described) << described.error().err.message;
    EXPECT_EQ(described->kind, apply_kind::replaced);
}

// Read-your-writes across a swap (found from outside: a `wait_for` answered by the old
// version's group just after the swap, then a read of the new collection without the
// event): once the rebuild swapped in, a condition made with the old group is decided by
// the new group alone, also after the runners were replaced.
TEST_P(registry_contract, after_a_swap_waits_made_with_the_old_group_are_decided_by_the_new_one) {
    auto& sup = counts_v1_over_k0();
    auto writers = sup.writers_of("orders");
    ASSERT_EQ(writers.size(), 1u);
    const std::string old_group = writers[0].group;
    consistency::cursor_condition c{"counts", "order.created", old_group, seq_t{1}};
    std::vector<std::string> groups;
    sup.groups_deciding(c, groups);
    EXPECT_EQ(groups, std::vector<std::string>{old_group});

    ASSERT_NE(swapped_in(2), "");
    ASSERT_TRUE(sup.wait_synced(10s));
    const std::string new_group = userproj::load_entry(*store_, "counts")->value().group;
    ASSERT_NE(new_group, old_group);
    groups.clear();
    sup.groups_deciding(c, groups);
    EXPECT_EQ(groups, std::vector<std::string>{new_group});
    ASSERT_EQ(sup.writers_of("orders").size(), 1u);
    EXPECT_EQ(sup.writers_of("orders")[0].group, new_group);

    // Another projector's condition under a name this supervisor does not run: untouched.
    groups.clear();
    sup.groups_deciding({"process.txn", "process.state", "processes.txn", seq_t{1}}, groups);
    EXPECT_TRUE(groups.empty());
    sup.stop();
}

// An erasure takes the text of failure notes about the topic away, from the registry and
// from its documents' change log, since a handler's message may quote the erased payload;
// notes about other topics, and the definitions' generations, stay.
TEST_P(registry_contract, an_erasure_withholds_the_failure_texts_about_its_topic) {
    ASSERT_TRUE(userproj::apply_definition(*store_, definition(1)));
    ASSERT_TRUE(userproj::apply_definition(*store_, definition(1, false, "other", "others")));
    auto counts = userproj::load_entry(*store_, "counts")->value();
    auto other = userproj::load_entry(*store_, "other")->value();
    ASSERT_TRUE(userproj::mark_failed(*store_, "counts", counts.generation,
                                      "topic order.created: seq 1: bad card SECRET-4111"));
    ASSERT_TRUE(userproj::mark_failed(*store_, "other", other.generation,
                                      "topic order.paid: seq 2: bad amount"));
    const auto failed_generation = userproj::load_entry(*store_, "counts")->value().generation;

    ASSERT_TRUE(userproj::withhold_failure_texts(*store_, "order.created"));
    auto after = userproj::load_entry(*store_, "counts")->value();
    ASSERT_TRUE(after.failed);
    EXPECT_EQ(after.failed->error.find("SECRET"), std::string::npos) << after.failed->error;
    EXPECT_TRUE(after.failed->error.starts_with("topic order.created: ")) << after.failed->error;
    EXPECT_EQ(after.generation, failed_generation);
    EXPECT_EQ(userproj::load_entry(*store_, "other")->value().failed->error,
              "topic order.paid: seq 2: bad amount");
    auto changes = store_->changes({.collection = std::string(userproj::registry_collection)});
    ASSERT_TRUE(changes);
    for (const auto& c : *changes) EXPECT_EQ(c.body.find("SECRET"), std::string::npos) << c.body;
}

// Definitions that emit into each other's topics would feed one another without end (found
// from outside: one publish made tens of thousands of events a second): the one that closes
// the loop is refused, through patterns too; a chain without a loop is taken.
TEST_P(registry_contract, a_definition_closing_a_loop_of_emits_is_refused) {
    auto emitting = [](std::string_view name, std::string_view topic, std::string_view to) {
        return *parse_json(R"({"name":")" + std::string(name) + R"(","topic":")" +
                           std::string(topic) + R"(","emit":[{"topic":")" + std::string(to) +
                           R"(","payload":"$payload"}]})");
    };
    ASSERT_TRUE(userproj::apply_definition(*store_, emitting("ping", "ping", "pong")));
    ASSERT_TRUE(userproj::apply_definition(*store_, emitting("relay", "pong", "ev.loop")));
    auto closing = userproj::apply_definition(*store_, emitting("back", "ev.*", "ping"));
    ASSERT_FALSE(closing);
    EXPECT_EQ(closing.error().pointer, "/emit");
    EXPECT_NE(closing.error().err.message.find("back -> ping -> relay -> back"), std::string::npos)
        << closing.error().err.message;
    EXPECT_FALSE(*userproj::load_entry(*store_, "back"));
    // Emitting elsewhere, the same name is taken.
    EXPECT_TRUE(userproj::apply_definition(*store_, emitting("back", "ev.*", "audit")));
    // And replacing a link of the chain so that it closes the loop is refused too.
    EXPECT_FALSE(userproj::apply_definition(*store_, emitting("back", "ev.*", "ping")));
    EXPECT_FALSE(userproj::apply_definition(*store_, emitting("relay", "pong", "ping")));
    // A pending rebuild projects too: its emits count (found from outside: a definition
    // closing a loop with one was taken).
    ASSERT_TRUE(userproj::apply_definition(*store_, emitting("a", "pa", "pz")));
    auto rebuild = emitting("a", "pa", "pb");
    rebuild.get_object()["version"] = 2;
    rebuild.get_object()["rebuild"] = true;
    ASSERT_TRUE(userproj::apply_definition(*store_, rebuild));
    EXPECT_FALSE(userproj::apply_definition(*store_, emitting("b", "pb", "pa")));
}

TEST_P(registry_contract, an_invalid_definition_stores_nothing_and_names_the_field) {
    auto bad = definition(1);
    bad.get_object()["writes"].get_array()[0].get_object()["collection"] = "_prom.projectors";
    auto r = userproj::apply_definition(*store_, bad);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().pointer, "/writes/0/collection");
    auto other = userproj::apply_definition(*store_, definition(1), "not-counts");
    ASSERT_FALSE(other);
    EXPECT_EQ(other.error().pointer, "/name");
    EXPECT_TRUE(userproj::load_registry(*store_)->empty());
}

TEST_P(registry_contract, a_tombstone_keeps_the_group_for_a_definition_created_again) {
    ASSERT_TRUE(userproj::apply_definition(*store_, definition(4)));
    ASSERT_TRUE(userproj::remove_definition(*store_, "counts"));
    EXPECT_FALSE(*userproj::load_entry(*store_, "counts"));
    EXPECT_EQ(userproj::remove_definition(*store_, "counts").error().code, errc::not_found);
    auto again = userproj::apply_definition(*store_, definition(1));
    ASSERT_TRUE(again);
    EXPECT_EQ(again->kind, apply_kind::created);
    EXPECT_EQ(again->entry.group, "projector.counts");
}

// With a rebuild pending, applying the serving body again changes nothing (a node that
// restarts with it in its config files must not cancel the rebuild), and another
// definition may not start writing a collection being rebuilt (it would be left on the
// old physical collection at the swap). Found from outside.
TEST_P(registry_contract, a_pending_rebuild_survives_the_serving_body_and_keeps_its_collections) {
    ASSERT_TRUE(userproj::apply_definition(*store_, definition(1)));
    auto r = userproj::apply_definition(*store_, definition(2, true));
    ASSERT_TRUE(r);
    ASSERT_TRUE(r->entry.rebuild);
    auto again = userproj::apply_definition(*store_, definition(1));
    ASSERT_TRUE(again) << again.error().err.message;
    EXPECT_EQ(again->kind, apply_kind::unchanged);
    auto e = userproj::load_entry(*store_, "counts");
    ASSERT_TRUE(e && *e);
    EXPECT_TRUE((*e)->rebuild);
    auto other = userproj::apply_definition(*store_, definition(1, false, "other"));
    ASSERT_FALSE(other);
    EXPECT_EQ(other.error().err.code, errc::conflict);
    EXPECT_NE(other.error().err.message.find("being rebuilt"), std::string::npos);
    EXPECT_FALSE(*userproj::load_entry(*store_, "other"));
}

TEST_P(registry_contract, the_supervisor_runs_fails_and_swaps_a_rebuild) {
    userproj::collection_aliases aliases;
    userproj::supervisor sup(*store_, aliases, {.backoff = 1ms});
    sup.start();
    ASSERT_TRUE(userproj::apply_definition(*store_, definition(1)));
    for (int i = 0; i < 10; ++i) publish("k" + std::to_string(i % 2));
    test::eventually([&] { return n_of("orders", "k0") == 5 && n_of("orders", "k1") == 5; }, 20s);
    ASSERT_EQ(n_of("orders", "k0"), 5);

    // A rebuild writes shadows, then the swap moves the alias in one transaction.
    auto r = userproj::apply_definition(*store_, definition(2, true));
    ASSERT_TRUE(r);
    ASSERT_TRUE(r->entry.rebuild);
    std::string shadow = r->entry.rebuild->collections.at("orders");
    EXPECT_TRUE(shadow.starts_with("_prom."));
    test::eventually([&] { return swapped_to(2); }, 20s);
    auto e = userproj::load_entry(*store_, "counts");
    ASSERT_TRUE(e && *e);
    EXPECT_EQ((*e)->version, 2);
    EXPECT_EQ((*e)->collections.at("orders"), shadow);
    EXPECT_EQ(n_of(shadow, "k0"), 5);    // complete when swapped
    EXPECT_EQ(n_of("orders", "k0"), 5);  // the old collection keeps its documents
    ASSERT_TRUE(sup.wait_synced(5s));
    std::shared_ptr<const userproj::collection_map> hold;
    EXPECT_EQ(aliases.resolve("orders", hold), shadow);
    EXPECT_EQ(aliases.resolve("other", hold), "other");
    auto rt = sup.runtime("counts");
    ASSERT_TRUE(rt);
    EXPECT_TRUE(rt->running);
    // The group the rebuild replaced keeps no cursor: its lag would grow for good (and trip
    // SLO rules on projector.counts*). Found from outside.
    EXPECT_TRUE(test::eventually(
        [&] {
            auto c = store_->list_cursors();
            return c && std::ranges::none_of(*c, [](const cursor_status& x) {
                       return x.group == "projector.counts";
                   });
        },
        20s));

    // A definition failing on every event ends failed, with its error in the registry.
    auto broken = *parse_json(
        R"({"name":"broken","version":1,"topic":"order.*",)"
        R"("writes":[{"collection":"b","key":"{payload.nope}","update":{"$inc":{"n":1}}}]})");
    ASSERT_TRUE(userproj::apply_definition(*store_, broken));
    test::eventually(
        [&] {
            auto b = userproj::load_entry(*store_, "broken");
            return b && *b && (*b)->failed;
        },
        20s);
    auto b = userproj::load_entry(*store_, "broken");
    ASSERT_TRUE(b && *b && (*b)->failed);
    EXPECT_NE((*b)->failed->error.find("payload.nope"), std::string::npos) << (*b)->failed->error;
    // Its counters survive its projectors, and the gauge says failed (the status showed
    // zeros and the gauge 0 once they had stopped). Found from outside.
    ASSERT_TRUE(test::eventually(
        [&] {
            std::string metrics;
            sup.append_metrics(metrics);
            return metrics.find(
                       "prom_user_projector_failed{projector=\"broken\",topic=\"order."
                       "created\"} 1") != std::string::npos;
        },
        20s));
    auto broken_rt = sup.runtime("broken");
    ASSERT_TRUE(broken_rt);
    std::uint64_t errors = 0, dead_lettered = 0;
    for (const auto& t : broken_rt->serving) {
        errors += t.errors;
        dead_lettered += t.dead_lettered;
    }
    EXPECT_GT(errors, 0u);
    EXPECT_GT(dead_lettered, 0u);
    // Applying it again clears the failure.
    EXPECT_EQ(userproj::apply_definition(*store_, broken)->kind, apply_kind::unchanged);
    EXPECT_FALSE((*userproj::load_entry(*store_, "broken"))->failed);
    sup.stop();
}

// `latest` is "after the definition was applied": events already in a covered topic are
// skipped, a topic that appears later is read from its first event, and nothing published
// before the supervisor first looks is lost.
TEST_P(registry_contract, latest_skips_what_was_there_and_reads_a_later_topic_whole) {
    publish("old");
    publish("old");
    auto latest = *parse_json(
        R"({"name":"late","topic":"order.*","from":"latest",)"
        R"("writes":[{"collection":"late","key":"{topic}.{key}","update":{"$inc":{"n":1}}}]})");
    auto applied = userproj::apply_definition(*store_, latest);
    ASSERT_TRUE(applied) << applied.error().err.message;
    publish("new");  // before any runner started
    event_input later;
    later.topic = "order.shipped";  // a topic the pattern first sees after the definition
    later.key = "first";
    later.payload = json::object{};
    ASSERT_TRUE(bus(*store_).publish(std::move(later)));

    userproj::collection_aliases aliases;
    userproj::supervisor sup(*store_, aliases, {.backoff = 1ms});
    sup.start();
    test::eventually(
        [&] {
            return n_of("late", "order.created.new") == 1 &&
                   n_of("late", "order.shipped.first") == 1;
        },
        20s);
    EXPECT_EQ(n_of("late", "order.created.new"), 1);
    EXPECT_EQ(n_of("late", "order.shipped.first"), 1);
    EXPECT_EQ(n_of("late", "order.created.old"), -1);
    sup.stop();
}

TEST_P(registry_contract, a_rebuild_sharing_a_collection_with_another_definition_is_refused) {
    ASSERT_TRUE(userproj::apply_definition(*store_, definition(1)));
    ASSERT_TRUE(userproj::apply_definition(*store_, definition(1, false, "other")));
    auto r = userproj::apply_definition(*store_, definition(2, true));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().err.code, errc::conflict);
    // The built-in process projector's collections too: a swap hid its documents behind a
    // shadow it never writes (found from outside). Writing them in place stays allowed.
    for (std::string_view builtin : {"processes", "host_stats"}) {
        const std::string name = "mine_" + std::string(builtin);
        ASSERT_TRUE(userproj::apply_definition(*store_, definition(1, false, name, builtin)));
        auto swap = userproj::apply_definition(*store_, definition(2, true, name, builtin));
        ASSERT_FALSE(swap) << builtin;
        EXPECT_EQ(swap.error().err.code, errc::conflict);
        EXPECT_NE(swap.error().err.message.find("built-in process projector"), std::string::npos);
    }
}

TEST_P(registry_contract, a_failing_rebuild_is_abandoned_and_the_serving_version_keeps_running) {
    userproj::collection_aliases aliases;
    userproj::supervisor sup(*store_, aliases, {.backoff = 1ms});
    sup.start();
    ASSERT_TRUE(userproj::apply_definition(*store_, definition(1)));
    for (int i = 0; i < 6; ++i) publish("k" + std::to_string(i));
    auto broken = definition(2, true);
    broken.get_object()["writes"].get_array()[0].get_object()["key"] = "{payload.nope}";
    ASSERT_TRUE(userproj::apply_definition(*store_, broken));
    std::optional<userproj::registry_entry> e;
    test::eventually(
        [&] {
            e = *userproj::load_entry(*store_, "counts");
            return e && e->rebuild_failed;
        },
        20s);
    ASSERT_TRUE(e && e->rebuild_failed);
    EXPECT_FALSE(e->rebuild);
    EXPECT_FALSE(e->failed);
    EXPECT_EQ(e->version, 1);
    EXPECT_NE(e->rebuild_failed->error.find("payload.nope"), std::string::npos);
    publish("k0");
    test::eventually([&] { return n_of("orders", "k0") == 2; }, 20s);
    EXPECT_EQ(n_of("orders", "k0"), 2);  // the serving version kept going
    sup.stop();
}

// A Lua handler reading a collection another projector writes reads it where a client
// would: after that projector's rebuild swapped in, from the new documents.
TEST_P(registry_contract, a_lua_read_of_another_projectors_collection_follows_its_rebuild) {
    userproj::collection_aliases aliases;
    userproj::supervisor sup(*store_, aliases, {.backoff = 1ms});
    sup.start();
    ASSERT_TRUE(userproj::apply_definition(*store_, definition(1)));
    publish("k0");
    test::eventually([&] { return n_of("orders", "k0") == 1; }, 20s);
    ASSERT_EQ(n_of("orders", "k0"), 1);
    ASSERT_TRUE(userproj::apply_definition(*store_, definition(2, true)));  // writes v = 2
    ASSERT_TRUE(test::eventually([&] { return swapped_to(2); }, 20s));
    ASSERT_TRUE(sup.wait_synced(5s));

    json::object reader{{"name", "reader"},
                        {"topic", "audit.read"},
                        {"collections", json::array{"seen"}},
                        {"lua",
                         "function handle(event, tx)\n"
                         "  local d = tx:get('orders', 'k0')\n"
                         "  tx:update('seen', event.key, {['$set'] = {v = d and d.v or -1}})\n"
                         "end\n"}};
    auto applied = userproj::apply_definition(*store_, reader);
    ASSERT_TRUE(applied) << applied.error().err.message;
    event_input e;
    e.topic = "audit.read";
    e.key = "r";
    e.payload = json::object{};
    ASSERT_TRUE(bus(*store_).publish(std::move(e)));
    auto v_seen = [&]() -> std::int64_t {
        auto d = store_->find_one("seen", "r");
        if (!d || !*d) return 0;
        return parse_json((*d)->body)->at("v").to_number<std::int64_t>();
    };
    test::eventually([&] { return v_seen() != 0; }, 20s);
    EXPECT_EQ(v_seen(), 2);  // the rebuilt documents, not the ones left behind (v = 1)
    if (auto dl = store_->scan({.topic = "audit.read.dlq"}); dl && !dl->empty()) {
        ADD_FAILURE() << dl->front().headers.at("prom-error");
    }
    sup.stop();
}

// A pattern's per-topic projectors writing the same documents in opposite orders: exact,
// and without a failed attempt (on PostgreSQL, concurrent batches deadlocked).
TEST_P(registry_contract, a_patterns_topics_writing_the_same_documents_do_not_deadlock) {
    auto shared =
        *parse_json(R"({"name":"mix","topic":"mix.*","writes":[)"
                    R"({"collection":"mix","key":"{payload.first}","update":{"$inc":{"n":1}}},)"
                    R"({"collection":"mix","key":"{payload.second}","update":{"$inc":{"n":1}}}]})");
    ASSERT_TRUE(userproj::apply_definition(*store_, shared));
    userproj::collection_aliases aliases;
    userproj::supervisor sup(*store_, aliases, {.backoff = 1ms});
    sup.start();
    constexpr int topics = 4, rounds = 20, per_round = 5;
    for (int r = 0; r < rounds; ++r) {
        for (int t = 0; t < topics; ++t) {
            std::vector<event_input> batch;
            for (int i = 0; i < per_round; ++i) {
                event_input e;
                e.topic = "mix.t" + std::to_string(t);
                e.key = "k";
                const bool forward = (t + i) % 2 == 0;
                e.payload =
                    json::object{{"first", forward ? "x" : "y"}, {"second", forward ? "y" : "x"}};
                batch.push_back(std::move(e));
            }
            ASSERT_TRUE(store_->append(std::move(batch)));
        }
    }
    constexpr int total = topics * rounds * per_round;
    test::eventually([&] { return n_of("mix", "x") == total && n_of("mix", "y") == total; }, 60s);
    EXPECT_EQ(n_of("mix", "x"), total);
    EXPECT_EQ(n_of("mix", "y"), total);
    auto rt = sup.runtime("mix");
    ASSERT_TRUE(rt);
    std::uint64_t errors = 0;
    for (const auto& t : rt->serving) errors += t.errors;
    EXPECT_EQ(errors, 0u);
    sup.stop();
}

TEST_P(registry_contract, a_lua_handler_cannot_read_the_registry) {
    ASSERT_TRUE(userproj::apply_definition(*store_, definition(1)));
    json::object lua{{"name", "leaky"},
                     {"version", 1},
                     {"topic", "order.created"},
                     {"collections", json::array{"leak"}},
                     {"lua",
                      "function handle(event, tx)\n"
                      "  local d = tx:get('_prom.projectors', 'counts')\n"
                      "  tx:update('leak', event.key, {['$set'] = {got = d ~= nil}})\n"
                      "end\n"}};
    auto applied = userproj::apply_definition(*store_, lua);
    ASSERT_TRUE(applied) << applied.error().err.message;
    userproj::collection_aliases aliases;
    userproj::supervisor sup(*store_, aliases, {.backoff = 1ms});
    sup.start();
    publish("k1");
    auto dead_letters = [&] {
        auto t = store_->topic("order.created.dlq");
        return t && *t ? (*t)->count : 0;
    };
    test::eventually([&] { return dead_letters() != 0; }, 20s);
    EXPECT_EQ(dead_letters(), 1);
    auto dlq = store_->scan({.topic = "order.created.dlq"});
    ASSERT_TRUE(dlq && dlq->size() == 1);
    EXPECT_NE((*dlq)[0].headers.at("prom-error").find("reserved"), std::string::npos)
        << (*dlq)[0].headers.at("prom-error");
    EXPECT_EQ(n_of("leak", "k1"), -1);  // nothing was written
    sup.stop();
}

// What a projector's code hands to one transaction is bounded (write_budget.hpp): one event
// writing the same value into many documents is dead-lettered, and a batch whose events
// together pass the bound is applied one event at a time, every event applied.
TEST_P(registry_contract, writes_past_the_write_budget_split_the_batch_or_fail_the_event) {
    auto lua_definition = [](std::string_view name, std::string_view body) {
        return json::object{
            {"name", name},
            {"version", 1},
            {"topic", std::string(name) + ".t"},
            {"collections", json::array{name}},
            {"lua", "function handle(event, tx)\n" + std::string(body) + "\nend\n"}};
    };
    ASSERT_TRUE(userproj::apply_definition(
        *store_,
        lua_definition("amp",
                       "  local s = string.rep('x', 100000)\n"
                       "  for i = 1, 20 do tx:update('amp', event.key .. i, {s = s}) end")));
    ASSERT_TRUE(userproj::apply_definition(
        *store_,
        lua_definition("big", "  tx:update('big', event.key, {s = string.rep('y', 100000)})")));
    for (int i = 0; i < 30; ++i) {
        event_input e;
        e.topic = "big.t";
        e.key = "k" + std::to_string(i);
        e.payload = json::object{};
        ASSERT_TRUE(bus(*store_).publish(std::move(e)));
    }
    event_input amp;
    amp.topic = "amp.t";
    amp.key = "a";
    amp.payload = json::object{};
    ASSERT_TRUE(bus(*store_).publish(std::move(amp)));

    userproj::collection_aliases aliases;
    userproj::supervisor sup(*store_, aliases,
                             {.backoff = 1ms, .write_budget_bytes = std::size_t{1} << 20});
    sup.start();
    auto count_of = [&](std::string_view topic) {
        auto t = store_->topic(topic);
        return t && *t ? (*t)->count : 0;
    };
    auto big_docs = [&] {
        int n = 0;
        for (int i = 0; i < 30; ++i) {
            auto d = store_->find_one("big", "k" + std::to_string(i));
            if (d && *d) ++n;
        }
        return n;
    };
    test::eventually([&] { return count_of("amp.t.dlq") != 0 && big_docs() == 30; }, 30s);
    sup.stop();
    // 30 x 100 KB do not fit one transaction of 1 MiB; each event alone does.
    EXPECT_EQ(big_docs(), 30);
    EXPECT_EQ(count_of("big.t.dlq"), 0);
    // 20 x 100 KB from one event never fit.
    ASSERT_EQ(count_of("amp.t.dlq"), 1);
    auto dlq = store_->scan({.topic = "amp.t.dlq"});
    ASSERT_TRUE(dlq && dlq->size() == 1);
    EXPECT_NE((*dlq)[0].headers.at("prom-error").find("exceed 1 MiB"), std::string::npos)
        << (*dlq)[0].headers.at("prom-error");
    auto written = store_->find_one("amp", "a1");
    ASSERT_TRUE(written);
    EXPECT_FALSE(*written);  // the event's writes were rolled back with it
}

// Each version of a definition files its own dead letters (its own group), and a replay
// copy is applied only by the version that failed the event. Found from outside: with the
// entries shared, v1's dead letter replayed after a rebuild that had applied the event
// itself applied it a second time (and an abandoned rebuild's entries reached the serving
// version, which had applied those events too).
TEST_P(registry_contract, a_replayed_dead_letter_is_applied_only_by_the_version_that_failed_it) {
    auto def = [](int version, bool rebuild, std::string_view key) {
        return *parse_json(R"({"name":"picky","version":)" + std::to_string(version) +
                           (rebuild ? R"(,"rebuild":true)" : "") +
                           R"(,"topic":"pick.t","writes":[{"collection":"picked","key":")" +
                           std::string(key) + R"(","update":{"$inc":{"n":1}}}]})");
    };
    userproj::collection_aliases aliases;
    userproj::supervisor sup(*store_, aliases, {.backoff = 1ms});
    sup.start();
    ASSERT_TRUE(userproj::apply_definition(*store_, def(1, false, "{payload.k}")));
    for (const auto& [key, payload] :
         {std::pair{"ka", R"({"k":"a"})"}, {"kp", "{}"}, {"kb", R"({"k":"b"})"}}) {
        event_input e;
        e.topic = "pick.t";
        e.key = key;
        e.payload = *parse_json(payload);
        ASSERT_TRUE(bus(*store_).publish(std::move(e)));
    }
    auto dead_letters = [&] {
        auto t = store_->topic("pick.t.dlq");
        return t && *t ? (*t)->count : 0;
    };
    auto n_served = [&](std::string_view key) {
        std::shared_ptr<const userproj::collection_map> hold;
        return n_of(aliases.resolve("picked", hold), key);
    };
    // The serving version has taken every event of pick.t, replay copies included.
    auto caught_up = [&] {
        auto e = userproj::load_entry(*store_, "picky");
        auto t = store_->topic("pick.t");
        if (!e || !*e || !t || !*t) return false;
        auto c = store_->cursor("pick.t", (*e)->group);
        return c && *c && **c == (*t)->last_seq;
    };
    ASSERT_TRUE(test::eventually(
        [&] { return n_served("a") == 1 && n_served("b") == 1 && dead_letters() == 1; }, 20s));

    // v2 keys by the event's key: its rebuild applies kp, which v1 dead-lettered.
    ASSERT_TRUE(userproj::apply_definition(*store_, def(2, true, "{key}")));
    ASSERT_TRUE(test::eventually([&] { return swapped_to(2, "picky"); }, 20s));
    ASSERT_TRUE(sup.wait_synced(5s));
    ASSERT_TRUE(test::eventually([&] { return n_served("kp") == 1; }, 20s));
    auto first = ops::replay_dead_letters(*store_, "pick.t", {.group = "projector.picky"});
    ASSERT_TRUE(first) << first.error().message;
    EXPECT_EQ(first->replayed, 1u);
    ASSERT_TRUE(test::eventually(caught_up, 20s));
    EXPECT_EQ(n_served("kp"), 1) << "v1's dead letter was applied by v2, which had applied it";

    // v3 fails on kp again, under its own group: a second entry, its own.
    ASSERT_TRUE(userproj::apply_definition(*store_, def(3, true, "{payload.k}")));
    ASSERT_TRUE(test::eventually([&] { return swapped_to(3, "picky"); }, 20s));
    ASSERT_TRUE(sup.wait_synced(5s));
    ASSERT_TRUE(test::eventually([&] { return dead_letters() == 2; }, 20s));
    auto dlq = store_->scan({.topic = "pick.t.dlq"});
    ASSERT_TRUE(dlq && dlq->size() == 2);
    EXPECT_EQ((*dlq)[0].headers.at("prom-group"), "projector.picky");
    auto v3 = userproj::load_entry(*store_, "picky");
    ASSERT_TRUE(v3 && *v3);
    EXPECT_EQ((*dlq)[1].headers.at("prom-group"), (*v3)->group);
    EXPECT_TRUE((*v3)->group.starts_with("projector.picky@"));
    // Fixed in place (v3's group), then replayed: v3's entry is applied once, v1's stays
    // applied by nobody (its copy was made already: a duplicate).
    ASSERT_TRUE(userproj::apply_definition(*store_, def(4, false, "{key}")));
    ASSERT_TRUE(sup.wait_synced(5s));
    auto second = ops::replay_dead_letters(*store_, "pick.t", {.group = "projector.picky"});
    ASSERT_TRUE(second) << second.error().message;
    EXPECT_EQ(second->replayed, 1u);
    EXPECT_EQ(second->already, 1u);
    ASSERT_TRUE(test::eventually([&] { return n_served("kp") == 1; }, 20s));
    ASSERT_TRUE(test::eventually(caught_up, 20s));
    EXPECT_EQ(n_served("kp"), 1);
    EXPECT_EQ(dead_letters(), 2);
    EXPECT_TRUE(ops::filed_under("projector.picky@0a1b", "projector.picky"));
    EXPECT_FALSE(ops::filed_under("projector.picky2", "projector.picky"));
    EXPECT_FALSE(ops::filed_under("billing@eu", "billing"));  // only projectors' versions
    sup.stop();
}

// A definition deleted while its rebuild was pending keeps its serving group (created again,
// it goes on from there) but not the rebuild's, whose lag would only grow. Found from
// outside: the rebuild's group stayed listed, lagging, for good.
TEST_P(registry_contract, a_deleted_definition_leaves_no_rebuild_group_behind) {
    auto& sup = counts_v1_over_k0();
    if (HasFailure()) return;
    // What a pending rebuild's runner leaves when the definition goes before the swap.
    ASSERT_TRUE(store_->set_cursor("order.created", "projector.counts@0a1b2c3d4e", seq_t{1}));
    ASSERT_TRUE(userproj::remove_definition(*store_, "counts"));
    auto has_group = [&](std::string_view group) {
        auto c = store_->list_cursors();
        return c &&
               std::ranges::any_of(*c, [&](const cursor_status& x) { return x.group == group; });
    };
    EXPECT_TRUE(test::eventually([&] { return !has_group("projector.counts@0a1b2c3d4e"); }, 20s));
    EXPECT_TRUE(has_group("projector.counts"));
    sup.stop();
}

// After a definition that wrote a swapped collection is deleted and the collection is
// swapped again, deleting its last writer leaves it served from the newest shadow, not from
// the older one the first tombstone still named. Found from outside.
TEST_P(registry_contract, deleting_the_last_writer_keeps_the_newest_shadow_served) {
    userproj::collection_aliases aliases;
    userproj::supervisor sup(*store_, aliases, {.backoff = 1ms});
    sup.start();
    auto served = [&] {
        auto all = userproj::load_registry(*store_);
        if (!all) return std::string("?");
        auto map = userproj::read_aliases(*all);
        auto it = map.find("counts");
        return it == map.end() ? std::string("counts") : it->second;
    };
    ASSERT_TRUE(userproj::apply_definition(*store_, definition(1, false, "cnt", "counts")));
    publish("k");
    auto first = userproj::apply_definition(*store_, definition(2, true, "cnt", "counts"));
    ASSERT_TRUE(first);
    const std::string shadow_a = first->entry.rebuild->collections.at("counts");
    ASSERT_TRUE(test::eventually([&] { return swapped_to(2, "cnt"); }, 20s));
    ASSERT_TRUE(sup.wait_synced(5s));
    auto other = userproj::apply_definition(*store_, definition(1, false, "other", "counts"));
    ASSERT_TRUE(other) << other.error().err.message;
    EXPECT_EQ(other->entry.collections.at("counts"), shadow_a);
    ASSERT_TRUE(userproj::remove_definition(*store_, "other"));
    auto second = userproj::apply_definition(*store_, definition(3, true, "cnt", "counts"));
    ASSERT_TRUE(second) << second.error().err.message;
    const std::string shadow_b = second->entry.rebuild->collections.at("counts");
    ASSERT_TRUE(test::eventually([&] { return swapped_to(3, "cnt"); }, 20s));
    EXPECT_EQ(served(), shadow_b);
    ASSERT_TRUE(userproj::remove_definition(*store_, "cnt"));
    EXPECT_EQ(served(), shadow_b);
    sup.stop();
}

// Erasing a document of a swapped collection erases it where clients read it (the shadow)
// and under the collection's own name (the old version's copy): prom doc rm deleted only the
// old copy, the HTTP route only the served one. Found from outside.
TEST_P(registry_contract, erasing_a_document_reaches_every_copy_the_registry_knows) {
    auto& sup = counts_v1_over_k0();
    const std::string shadow = swapped_in(2);
    if (HasFailure()) return;
    ASSERT_EQ(n_of(shadow, "k0"), 1);
    sup.stop();
    auto gone = userproj::erase_document(*store_, "orders", "k0");
    ASSERT_TRUE(gone) << gone.error().message;
    EXPECT_TRUE(*gone);
    EXPECT_EQ(n_of(shadow, "k0"), -1);
    EXPECT_EQ(n_of("orders", "k0"), -1);
    auto again = userproj::erase_document(*store_, "orders", "k0");
    ASSERT_TRUE(again);
    EXPECT_FALSE(*again);
}

// A second rebuild's swap drops the first shadow from the registry; an erasure still reaches
// it (it holds the document the first swap served).
TEST_P(registry_contract, erasing_a_document_reaches_the_shadows_of_earlier_swaps) {
    auto& sup = counts_v1_over_k0();
    const std::string shadow_a = swapped_in(2);
    const std::string shadow_b = swapped_in(3);
    if (HasFailure()) return;
    sup.stop();
    auto entries = userproj::load_registry(*store_);
    ASSERT_TRUE(entries);
    auto known = userproj::physical_collections_of(*entries, "orders");
    ASSERT_EQ(std::ranges::find(known, shadow_a), known.end()) << "the registry forgot it";
    ASSERT_EQ(n_of(shadow_a, "k0"), 1);
    ASSERT_EQ(n_of(shadow_b, "k0"), 1);
    auto gone = userproj::erase_document(*store_, "orders", "k0");
    ASSERT_TRUE(gone) << gone.error().message;
    EXPECT_TRUE(*gone);
    EXPECT_EQ(n_of(shadow_a, "k0"), -1);
    EXPECT_EQ(n_of(shadow_b, "k0"), -1);
    EXPECT_EQ(n_of("orders", "k0"), -1);
    EXPECT_TRUE(userproj::is_shadow_of(shadow_a, "orders"));
    EXPECT_FALSE(userproj::is_shadow_of("_prom.projectors", "projectors"));
    EXPECT_FALSE(userproj::is_shadow_of("_prom.schemas.orders", "orders"));  // not a hex token
    EXPECT_FALSE(userproj::is_shadow_of(shadow_a, "ord"));
}

// Retention leaves gaps in seqs: a projector from `earliest` on a topic whose oldest events
// were dropped, and a rebuild of it, project what is left (found from outside: the gap was
// taken for another consumer's move of the cursor, and nothing was ever applied).
TEST_P(registry_contract, a_projector_from_earliest_projects_a_topic_retention_trimmed) {
    for (int i = 0; i < 10; ++i) publish("k0");
    retention::policy keep_three;
    keep_three.pattern = "order.created";
    keep_three.retain = retention::retain_rule{.max_events = 3};
    auto pass = retention::run_pass(*store_, "order.created", keep_three, {.now = now_ms()});
    ASSERT_TRUE(pass) << pass.error().message;
    ASSERT_EQ(store_->scan({.topic = "order.created"})->size(), 3u);
    userproj::collection_aliases aliases;
    userproj::supervisor sup(*store_, aliases, {.backoff = 1ms});
    sup.start();
    ASSERT_TRUE(userproj::apply_definition(*store_, definition(1)));
    EXPECT_TRUE(test::eventually([&] { return n_of("orders", "k0") == 3; }, 20s));
    ASSERT_TRUE(userproj::apply_definition(*store_, definition(2, true)));
    EXPECT_TRUE(test::eventually([&] { return swapped_to(2); }, 20s));
    std::shared_ptr<const userproj::collection_map> hold;
    EXPECT_EQ(n_of(aliases.resolve("orders", hold), "k0"), 3);
    sup.stop();
}

INSTANTIATE_TEST_SUITE_P(backends, registry_contract, testing::ValuesIn(test::contract_backends()),
                         test::backend_name);

}  // namespace
}  // namespace prom
