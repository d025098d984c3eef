// Dead-letter replay and the bulk replayer over every backend.
#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <thread>

#include "ops/dlq.hpp"
#include "ops/groups.hpp"
#include "ops/replayer.hpp"
#include "prom/bus.hpp"
#include "prom/projector.hpp"
#include "prom/user_projector.hpp"
#include "support/test_support.hpp"

namespace prom {
namespace {

using namespace std::chrono_literals;

class ops_dlq_replay_contract : public testing::TestWithParam<test::backend> {
  protected:
    void SetUp() override {
        url_ = GetParam().fresh_url(dir_);
        store_ = test::open_or_die(url_, {.durable = false});
        ASSERT_NE(store_, nullptr);
    }

    seq_t publish(std::string topic, json::value payload, std::string id, std::int64_t ts = 1000) {
        auto r = bus(*store_).publish({.topic = std::move(topic),
                                       .id = std::move(id),
                                       .key = "k",
                                       .ts = ts_ms{ts},
                                       .payload = std::move(payload)});
        EXPECT_TRUE(r);
        return r ? r->seq : seq_t{};
    }

    std::int64_t count(std::string_view key) {
        auto d = store_->find_one("counts", key);
        if (!d || !*d) return 0;
        auto v = parse_json((*d)->body);
        return v->as_object().at("n").as_int64();
    }

    std::vector<event> scan(std::string topic) {
        auto r = store_->scan({.topic = std::move(topic)});
        EXPECT_TRUE(r);
        return r ? *r : std::vector<event>{};
    }

    test::temp_dir dir_;
    std::string url_;
    std::unique_ptr<store> store_;
};

// Counts each event's payload in document `name`; fails on "bad" unless `fixed`.
projector_handler counting(std::string name, std::atomic<bool>& fixed, std::string why) {
    return [name, &fixed, why](const event& e, transaction& txn) -> status {
        if (e.payload.is_string() && e.payload.get_string() == "bad" && !fixed) {
            return fail(errc::invalid_argument, why);
        }
        auto r =
            txn.update_one("counts", name, json::object{{"$inc", json::object{{"n", 1}}}}, true);
        if (!r) return std::unexpected(r.error());
        return {};
    };
}

TEST_P(ops_dlq_replay_contract, a_replayed_dead_letter_is_applied_once_by_its_group_only) {
    std::atomic<bool> fixed{false}, other_fixed{true};
    publish("in", "ok", "e1");
    const seq_t bad_seq = publish("in", "bad", "e2");
    publish("in", "ok", "e3");
    {
        auto p =
            start_transactional_projector(*store_, {.topic = "in",
                                                    .group = "g",
                                                    .handler = counting("g", fixed, "first error"),
                                                    .retries = 0,
                                                    .backoff = 1ms});
        auto q = start_transactional_projector(*store_,
                                               {.topic = "in",
                                                .group = "other",
                                                .handler = counting("other", other_fixed, "never"),
                                                .retries = 0});
        ASSERT_TRUE(p->wait_until(seq_t{3}, 10s));
        ASSERT_TRUE(q->wait_until(seq_t{3}, 10s));
    }
    EXPECT_EQ(count("g"), 2);
    EXPECT_EQ(count("other"), 3);
    auto dl = ops::list_dead_letters(*store_, "in", std::nullopt);
    ASSERT_TRUE(dl);
    ASSERT_EQ(dl->size(), 1u);
    EXPECT_EQ((*dl)[0].group, "g");
    EXPECT_EQ((*dl)[0].original_id, "e2");
    EXPECT_EQ((*dl)[0].source_seq, bad_seq);
    EXPECT_NE((*dl)[0].error.find("first error"), std::string::npos);

    // The fix, then the replay: the projector of g gets the event once more.
    fixed = true;
    auto r = ops::replay_dead_letters(*store_, "in", {.group = "g"});
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->replayed, 1u);
    EXPECT_EQ(r->already, 0u);
    // Replaying twice appends (and applies) nothing twice.
    auto again = ops::replay_dead_letters(*store_, "in", {.group = "g"});
    ASSERT_TRUE(again);
    EXPECT_EQ(again->replayed, 0u);
    EXPECT_EQ(again->already, 1u);
    {
        auto p = start_transactional_projector(
            *store_, {.topic = "in", .group = "g", .handler = counting("g", fixed, "x")});
        auto q = start_transactional_projector(
            *store_,
            {.topic = "in", .group = "other", .handler = counting("other", other_fixed, "never")});
        ASSERT_TRUE(p->wait_until(seq_t{4}, 10s));
        ASSERT_TRUE(q->wait_until(seq_t{4}, 10s));
    }
    EXPECT_EQ(count("g"), 3);      // the replayed event, once
    EXPECT_EQ(count("other"), 3);  // the copy was not for this group
    auto copy = scan("in").back();
    EXPECT_EQ(copy.headers.at("prom-replay-group"), "g");
    EXPECT_EQ(copy.headers.at("prom-original-id"), "e2");
    EXPECT_EQ(copy.headers.at("prom-original-seq"), std::to_string(bad_seq.value));
    EXPECT_EQ(copy.payload, json::value("bad"));
    // "prom-": a publisher cannot take the copy's id before the replay does.
    EXPECT_TRUE(copy.id.starts_with("prom-dlq-replay:")) << copy.id;
}

// What a projector derives from a dead-letter replay's copy is named by the event copied, so
// a rebuild that applies the original derives nothing twice (found from outside: a replay
// then a rebuild left two derived events for one input).
TEST_P(ops_dlq_replay_contract, a_copy_and_its_original_derive_the_same_event) {
    publish("in", "ok", "e1");
    const seq_t bad_seq = publish("in", "bad", "e2");
    auto def = parse_projector_definition(*parse_json(
        R"({"name":"p","topic":"in","emit":[{"topic":"derived","payload":"$payload"}]})"));
    ASSERT_TRUE(def) << def.error().message;
    auto emitting = make_user_handler(std::make_shared<const projector_definition>(*def));
    // The group that failed on e2 dead-letters it; then the fix and the replay.
    std::atomic<bool> fixed{false};
    {
        auto p = start_transactional_projector(
            *store_, {.topic = "in",
                      .group = "g",
                      .handler = [&](const event& e, transaction& txn) -> status {
                          if (e.payload == json::value("bad") && !fixed) {
                              return fail(errc::invalid_argument, "not yet");
                          }
                          return emitting(e, txn);
                      },
                      .retries = 0,
                      .backoff = 1ms});
        ASSERT_TRUE(p->wait_until(seq_t{2}, 10s));
        fixed = true;
        auto r = ops::replay_dead_letters(*store_, "in", {.group = "g"});
        ASSERT_TRUE(r) << r.error().message;
        ASSERT_TRUE(p->wait_until(seq_t{3}, 10s));
    }
    // A rebuild: another group over the whole log, the originals included (it skips the
    // copy, which is g's).
    {
        auto rebuilt = start_transactional_projector(
            *store_, {.topic = "in", .group = "g-rebuild", .handler = emitting});
        ASSERT_TRUE(rebuilt->wait_until(seq_t{3}, 10s));
    }
    auto derived = scan("derived");
    ASSERT_EQ(derived.size(), 2u);
    std::set<std::string> ids{derived[0].id, derived[1].id};
    EXPECT_EQ(ids, (std::set<std::string>{"prom-proj:p:0:in:1",
                                          "prom-proj:p:0:in:" + std::to_string(bad_seq.value)}));
}

TEST_P(ops_dlq_replay_contract, an_event_that_fails_again_stays_dead_lettered_with_the_new_error) {
    std::atomic<bool> fixed{false};
    publish("in", "bad", "e1");
    {
        auto p =
            start_transactional_projector(*store_, {.topic = "in",
                                                    .group = "g",
                                                    .handler = counting("g", fixed, "old error"),
                                                    .retries = 0,
                                                    .backoff = 1ms});
        ASSERT_TRUE(p->wait_until(seq_t{1}, 10s));
    }
    ASSERT_TRUE(ops::replay_dead_letters(*store_, "in", {}));
    {
        auto p =
            start_transactional_projector(*store_, {.topic = "in",
                                                    .group = "g",
                                                    .handler = counting("g", fixed, "new error"),
                                                    .retries = 0,
                                                    .backoff = 1ms});
        ASSERT_TRUE(p->wait_until(seq_t{2}, 10s));
    }
    auto dl = ops::list_dead_letters(*store_, "in", "g");
    ASSERT_TRUE(dl);
    ASSERT_EQ(dl->size(), 2u);
    EXPECT_NE((*dl)[1].error.find("new error"), std::string::npos);
    EXPECT_EQ((*dl)[1].original_id, "e1");
    // Replaying that entry by its id works once the fix is in.
    fixed = true;
    auto r = ops::replay_dead_letters(*store_, "in", {.ids = {(*dl)[1].entry.id}});
    ASSERT_TRUE(r);
    EXPECT_EQ(r->replayed, 1u);
    {
        auto p = start_transactional_projector(
            *store_, {.topic = "in", .group = "g", .handler = counting("g", fixed, "x")});
        ASSERT_TRUE(p->wait_until(seq_t{3}, 10s));
    }
    EXPECT_EQ(count("g"), 1);
}

TEST_P(ops_dlq_replay_contract, dead_letter_replay_refuses_unknown_topics_and_ids) {
    publish("in", "ok", "e1");
    auto r = ops::replay_dead_letters(*store_, "nope", {});
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, errc::not_found);
    r = ops::replay_dead_letters(*store_, "in", {.ids = {"missing"}});
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, errc::invalid_argument);
    // A group that never consumed the topic: a typo, not "nothing to replay".
    r = ops::replay_dead_letters(*store_, "in", {.group = "no-such-group"});
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, errc::not_found);
    EXPECT_EQ(scan("in").size(), 1u);
    // Listing says so too, and refuses the .dlq topic named instead of its source (found
    // from outside: both answered an empty list).
    auto ls = ops::list_dead_letters(*store_, "in", std::string_view("no-such-group"));
    ASSERT_FALSE(ls);
    EXPECT_EQ(ls.error().code, errc::not_found);
    std::vector<event_input> planted(1);
    planted[0] = {.topic = "in.dlq", .key = "planted", .payload = 99};
    ASSERT_TRUE(store_->append(std::move(planted)));
    auto named_dlq = ops::list_dead_letters(*store_, "in.dlq", std::nullopt);
    ASSERT_FALSE(named_dlq);
    EXPECT_EQ(named_dlq.error().code, errc::invalid_argument);
    EXPECT_NE(named_dlq.error().message.find("name its source ('in')"), std::string::npos)
        << named_dlq.error().message;
    // The planted event is in in.dlq, so it is listed; not being prom's dead letter, it is
    // never replayed into `in` (found from outside).
    auto listed = ops::list_dead_letters(*store_, "in", std::nullopt);
    ASSERT_TRUE(listed);
    EXPECT_EQ(listed->size(), 1u);
    auto replayed = ops::replay_dead_letters(*store_, "in", {});
    ASSERT_TRUE(replayed) << replayed.error().message;
    EXPECT_EQ(replayed->replayed, 0u);
    EXPECT_EQ(scan("in").size(), 1u);
    auto by_id = ops::replay_dead_letters(*store_, "in", {.ids = {(*listed)[0].entry.id}});
    EXPECT_FALSE(by_id);
}

TEST_P(ops_dlq_replay_contract, the_replayer_copies_matching_events_mapped_exactly_once) {
    for (int i = 1; i <= 25; ++i) {
        publish("src", json::object{{"n", i}, {"even", i % 2 == 0}}, "id" + std::to_string(i),
                std::int64_t{1000} * i);
    }
    ops::replay_spec spec{.src = "src",
                          .dst = "dst",
                          .where = *parse_json(R"({"payload.even": true})"),
                          .map = *parse_json(R"({"value": "$payload.n", "from": "$id"})"),
                          .from_ts = ts_ms{3000},
                          .to_ts = ts_ms{20'000},
                          .batch_size = 4};
    auto c = ops::compile_replay(*store_, spec);
    ASSERT_TRUE(c) << c.error().message;
    // Stop after the second batch (as a crash would), then run again.
    int batches = 0;
    auto first =
        ops::run_replay(*store_, **c, [&](const ops::replay_progress&) { return ++batches < 2; });
    ASSERT_FALSE(first);
    EXPECT_EQ(first.error().code, errc::cancelled);
    auto second = ops::run_replay(*store_, **c, {});
    ASSERT_TRUE(second) << second.error().message;
    EXPECT_EQ(second->end, 25);
    EXPECT_EQ(second->cursor, 25);
    auto out = scan("dst");
    ASSERT_EQ(out.size(), 9u);  // 4, 6, …, 20
    std::set<std::string> ids;
    for (std::size_t i = 0; i < out.size(); ++i) {
        const int n = 4 + 2 * static_cast<int>(i);
        EXPECT_EQ(out[i].payload.at("value").as_int64(), n);
        EXPECT_EQ(out[i].payload.at("from").as_string(), "id" + std::to_string(n));
        EXPECT_EQ(out[i].ts, 1000 * n);
        EXPECT_EQ(out[i].key, "k");
        ids.insert(out[i].id);
    }
    EXPECT_EQ(ids.size(), out.size());
    // A rerun copies nothing: the cursor is at the end.
    auto third = ops::run_replay(*store_, **c, {});
    ASSERT_TRUE(third);
    EXPECT_EQ(third->copied, 0);
    EXPECT_EQ(scan("dst").size(), 9u);
    // Even from a lost cursor, the derived ids refuse second copies.
    ASSERT_TRUE(store_->set_cursor("src", ops::replay_group("dst"), seq_t{0}));
    auto fourth = ops::run_replay(*store_, **c, {});
    ASSERT_TRUE(fourth);
    EXPECT_EQ(fourth->copied, 0);
    EXPECT_EQ(fourth->duplicates, 9);
    EXPECT_EQ(scan("dst").size(), 9u);
}

// Two sources whose events share an id, replayed into one destination: both are copied
// (found from outside: the second was taken for a duplicate of the first's copy).
TEST_P(ops_dlq_replay_contract, two_sources_sharing_ids_are_both_copied) {
    publish("orders.eu", json::object{{"amount", 10}}, "order-1", 1000);
    publish("orders.us", json::object{{"amount", 99}}, "order-1", 1000);
    for (std::string src : {"orders.eu", "orders.us"}) {
        auto c = ops::compile_replay(*store_, {.src = src, .dst = "orders.all"});
        ASSERT_TRUE(c) << c.error().message;
        auto done = ops::run_replay(*store_, **c, {});
        ASSERT_TRUE(done) << done.error().message;
        EXPECT_EQ(done->copied, 1) << src;
    }
    auto out = scan("orders.all");
    ASSERT_EQ(out.size(), 2u);
    EXPECT_EQ(out[0].id, "prom-proj:replay:0:orders.eu:1");
    EXPECT_EQ(out[1].id, "prom-proj:replay:0:orders.us:1");
}

TEST_P(ops_dlq_replay_contract, the_replayer_maps_with_lua) {
    for (int i = 1; i <= 5; ++i) publish("src", json::object{{"n", i}}, "id" + std::to_string(i));
    ops::replay_spec spec{.src = "src",
                          .dst = "dst",
                          .lua =
                              "function map(event)\n  if event.payload.n == 3 then return nil end\n"
                              "  return {double = event.payload.n * 2}\nend\n"};
    auto c = ops::compile_replay(*store_, spec);
    ASSERT_TRUE(c) << c.error().message;
    auto r = ops::run_replay(*store_, **c, {});
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->copied, 4);
    auto out = scan("dst");
    ASSERT_EQ(out.size(), 4u);
    EXPECT_EQ(out[0].payload.at("double").as_int64(), 2);
    EXPECT_EQ(out[3].payload.at("double").as_int64(), 10);
    // What map returned that cannot be copied is said as such, not at prom's wrapper's
    // line (found from outside: "lua:5: tx:emit: …" for a one-line file).
    ops::replay_spec cyclic{.src = "src",
                            .dst = "cyclic",
                            .lua = "function map(event) local t = {} t.t = t return t end"};
    auto cc = ops::compile_replay(*store_, cyclic);
    ASSERT_TRUE(cc) << cc.error().message;
    auto failed = ops::run_replay(*store_, **cc, {});
    ASSERT_FALSE(failed);
    EXPECT_NE(failed.error().message.find("map(event) returned what cannot be copied: a table"),
              std::string::npos)
        << failed.error().message;
    EXPECT_EQ(failed.error().message.find("tx:emit"), std::string::npos) << failed.error().message;
}

// A replay's maps run before its batch's write transaction: a slow Lua map held the store's
// write lock for the whole batch, and every publish waited (found from outside). A stop ends
// it between two events, with nothing of the batch written.
TEST_P(ops_dlq_replay_contract, a_slow_lua_map_holds_up_no_append_and_a_stop_ends_it) {
    for (int i = 0; i < 100; ++i) publish("src", i, "e" + std::to_string(i));
    ops::replay_spec spec{
        .src = "src",
        .dst = "dst",
        .lua =
            "function map(e) local s = 0 for j = 1, 150000 do s = s + j end return e.payload end",
        .batch_size = 100};
    auto c = ops::compile_replay(*store_, spec);
    ASSERT_TRUE(c) << c.error().message;
    std::atomic<int> calls{0};
    std::atomic<bool> stop{false};
    result<ops::replay_progress> outcome = std::unexpected(error{errc::internal, "not run"});
    const auto began = std::chrono::steady_clock::now();
    std::thread replay([&] {
        outcome = ops::run_replay(*store_, **c, [&](const ops::replay_progress&) {
            ++calls;
            return !stop.load();
        });
    });
    ASSERT_TRUE(test::eventually([&] { return calls.load() > 2; }, 10s));  // in the batch

    const auto appending = std::chrono::steady_clock::now();
    publish("other", 1, "x");
    const auto append_took = std::chrono::steady_clock::now() - appending;

    stop = true;
    replay.join();
    const auto ran = std::chrono::steady_clock::now() - began;
    ASSERT_FALSE(outcome);
    EXPECT_EQ(outcome.error().code, errc::cancelled) << outcome.error().message;
    EXPECT_TRUE(scan("dst").empty()) << "a cancelled batch wrote copies";
    // The append did not wait for the batch: much less than the replay ran.
    EXPECT_LT(append_took * 2, ran)
        << std::chrono::duration<double>(append_took).count() << " s of "
        << std::chrono::duration<double>(ran).count() << " s";
}

// A running replay's group, once it has a cursor, is listed active and refuses a seek without
// force (found from outside: listed inactive, and the seek broke the replay).
TEST_P(ops_dlq_replay_contract, a_running_replays_group_is_listed_active) {
    for (int i = 0; i < 60; ++i) publish("src", i, "e" + std::to_string(i));
    ops::replay_spec spec{
        .src = "src",
        .dst = "dst",
        .lua =
            "function map(e) local s = 0 for j = 1, 150000 do s = s + j end return e.payload end",
        .batch_size = 20};
    auto c = ops::compile_replay(*store_, spec);
    ASSERT_TRUE(c) << c.error().message;
    std::atomic<bool> stop{false};
    std::atomic<std::int64_t> cursor{0};
    std::thread replay([&] {
        (void)ops::run_replay(*store_, **c, [&](const ops::replay_progress& p) {
            cursor = p.cursor.value;
            return !stop.load();
        });
    });
    ASSERT_TRUE(test::eventually([&] { return cursor.load() >= 20; }, 20s));
    auto groups = ops::list_groups(*store_, ts_ms{0});
    ASSERT_TRUE(groups) << groups.error().message;
    bool listed_active = false;
    for (const auto& g : *groups) {
        if (g.group == "replay:dst") listed_active = g.holder.has_value();
    }
    auto seek =
        ops::seek(*store_, "src", "replay:dst", {.what = ops::seek_target::kind::earliest}, false);
    stop = true;
    replay.join();
    EXPECT_TRUE(listed_active);
    ASSERT_FALSE(seek);
    EXPECT_EQ(seek.error().code, errc::conflict) << seek.error().message;
}

// A forced seek of a running replay's group moves its cursor: the run stops at its next
// write, naming a seek as well as another replay (found from outside: it blamed another
// replay only), and copies nothing of that batch.
TEST_P(ops_dlq_replay_contract, a_replay_whose_cursor_a_seek_moved_says_so) {
    for (int i = 0; i < 10; ++i) publish("src", i, "e" + std::to_string(i));
    ops::replay_spec spec{.src = "src", .dst = "dst", .batch_size = 5};
    auto c = ops::compile_replay(*store_, spec);
    ASSERT_TRUE(c) << c.error().message;
    bool moved = false;
    auto done = ops::run_replay(*store_, **c, [&](const ops::replay_progress& p) {
        if (!moved && p.cursor.value == 5) {  // inside the second batch, before its write
            moved = true;
            EXPECT_TRUE(store_->set_cursor("src", "replay:dst", seq_t{1}));
        }
        return true;
    });
    ASSERT_FALSE(done);
    EXPECT_EQ(done.error().code, errc::conflict);
    EXPECT_NE(done.error().message.find("(from seq 5 to 1): a seek of group 'replay:dst' or "
                                        "another replay into 'dst' moved it"),
              std::string::npos)
        << done.error().message;
    EXPECT_EQ((*store_->topic("dst"))->count, 5);  // the first batch only
}

TEST_P(ops_dlq_replay_contract, the_replayer_refuses_bad_input_and_overlaps) {
    publish("src", 1, "a");
    auto refused = [&](ops::replay_spec spec, errc code, std::string_view says) {
        auto c = ops::compile_replay(*store_, spec);
        ASSERT_FALSE(c) << spec.dst;
        EXPECT_EQ(c.error().code, code);
        EXPECT_NE(c.error().message.find(says), std::string::npos) << c.error().message;
    };
    refused({.src = "src", .dst = "src"}, errc::invalid_argument, "DST");
    // Bad input, as docs/operations.md says (400 over HTTP, exit 2).
    refused({.src = "nope", .dst = "dst"}, errc::invalid_argument, "nope");
    refused({.src = "src", .dst = "dst", .where = *parse_json(R"({"payload": {"$regex": 1}})")},
            errc::invalid_argument, "--where");
    refused({.src = "src", .dst = "dst", .map = json::value("$nothing.here")},
            errc::invalid_argument, "--map");
    refused({.src = "src", .dst = "dst", .lua = "function map(e) return"}, errc::invalid_argument,
            "--lua");
    // Lua's messages give the file's own lines, and a file without map is refused up front
    // (found from outside: "lua:2: '(' expected near 'handle'" for `x=`; "no function map"
    // only at the first event).
    refused({.src = "src", .dst = "dst", .lua = "x="}, errc::invalid_argument, "lua:1:");
    refused({.src = "src", .dst = "dst", .lua = "-- a comment\n\nlocal x = = 1\n"},
            errc::invalid_argument, "lua:3:");
    refused({.src = "src", .dst = "dst", .lua = "function transform(e) return e.payload end"},
            errc::invalid_argument, "defines no function map(event)");
    refused({.src = "src", .dst = "dst", .lua = "local function map(e) return e.payload end"},
            errc::invalid_argument, "defines no function map(event)");
    refused({.src = "src", .dst = "dst", .from_ts = ts_ms{5}, .to_ts = ts_ms{4}},
            errc::invalid_argument, "--from-ts");
    refused({.src = "src", .dst = "bad topic"}, errc::invalid_argument, "DST");
    // Up front, not at the first batch (found from outside): the alarms' topic takes none.
    refused({.src = "src", .dst = "prom.alerts"}, errc::invalid_argument, "SLO alarms only");
    // POST /replays's errors name its body's fields, not the CLI's flags (found from outside).
    auto body = [](std::string_view text) { return *ops::parse_replay_request(*parse_json(text)); };
    refused(body(R"({"src":"src","dst":"dst","from_ts":5,"to_ts":4})"), errc::invalid_argument,
            "from_ts is after to_ts");
    refused(body(R"({"src":"src","dst":"dst","map":"$payload","lua":"function map(e) end"})"),
            errc::invalid_argument, "map and lua exclude each other");
    refused(body(R"({"src":"src","dst":"dst","where":{"payload":{"$regex":1}}})"),
            errc::invalid_argument, "where: ");
    refused(body(R"({"src":"src","dst":"src"})"), errc::invalid_argument,
            "dst must differ from src");
    // Another replay into the same DST holds its lease: refused, nothing copied.
    ASSERT_TRUE(*store_->acquire_lease("replay/dst", "someone", 10s));
    auto c = ops::compile_replay(*store_, {.src = "src", .dst = "dst"});
    ASSERT_TRUE(c);
    auto r = ops::run_replay(*store_, **c, {});
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, errc::conflict);
    EXPECT_FALSE(*store_->topic("dst"));
    EXPECT_FALSE(ops::parse_replay_request(*parse_json(R"({"src":"a"})")));
    EXPECT_FALSE(ops::parse_replay_request(*parse_json(R"({"src":"a","dst":"b","x":1})")));
    EXPECT_TRUE(ops::parse_replay_request(*parse_json(R"({"src":"a","dst":"b","from_ts":1})")));
}

INSTANTIATE_TEST_SUITE_P(backends, ops_dlq_replay_contract,
                         testing::ValuesIn(test::contract_backends()), test::backend_name);

}  // namespace
}  // namespace prom
