// The transactional projector: exactly-once effects, retries, dead letters, the process pair.
#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <thread>

#include "ops/dlq.hpp"
#include "projector/process_handlers.hpp"
#include "prom/bus.hpp"
#include "prom/process_projectors.hpp"
#include "prom/projector.hpp"
#include "retention/retention.hpp"
#include "support/forwarding_store.hpp"
#include "support/test_support.hpp"

namespace prom {
namespace {

using namespace std::chrono_literals;

class projector_contract : public testing::TestWithParam<test::backend> {
  protected:
    void SetUp() override {
        url_ = GetParam().fresh_url(dir_);
        store_ = test::open_or_die(url_, {.durable = false});
        ASSERT_NE(store_, nullptr);
    }

    void publish(std::string topic, json::value payload, std::string key = "k",
                 std::optional<std::string> id = {}) {
        event_input e;
        e.topic = std::move(topic);
        e.key = std::move(key);
        e.payload = std::move(payload);
        e.id = std::move(id);
        ASSERT_TRUE(bus(*store_).publish(std::move(e)));
    }

    std::string body(std::string_view coll, std::string_view key) {
        auto d = store_->find_one(coll, key);
        return d && *d ? (*d)->body : "";
    }

    static status count_handler(const event& e, transaction& txn) {
        if (e.payload.is_string() && e.payload.get_string() == "poison") {
            // write first, then fail: the write must not survive
            (void)txn.update_one("counts", "poisoned",
                                 json::object{{"$inc", json::object{{"n", 1}}}}, true);
            return fail(errc::invalid_argument, "cannot digest poison");
        }
        json::object inc{{"$inc", json::object{{"n", 1}}}};
        if (auto r = txn.update_one("counts", "a", inc, true); !r)
            return std::unexpected(r.error());
        if (auto r = txn.update_one("counts", "b", inc, true); !r)
            return std::unexpected(r.error());
        return {};
    }

    test::temp_dir dir_;
    std::string url_;
    std::unique_ptr<store> store_;
};

TEST_P(projector_contract, applies_each_event_once_across_collections_with_the_cursor) {
    for (int i = 0; i < 30; ++i) publish("in", i);
    auto p = start_transactional_projector(
        *store_, {.topic = "in", .group = "count", .handler = count_handler, .batch_size = 7});
    ASSERT_TRUE(p->wait_until(seq_t{30}, 10s));
    EXPECT_EQ(body("counts", "a").find("\"n\":30"), body("counts", "a").find("\"n\":"));
    EXPECT_NE(body("counts", "a").find("\"n\":30"), std::string::npos);
    EXPECT_NE(body("counts", "b").find("\"n\":30"), std::string::npos);
    p.reset();

    // A restart resumes from the committed cursor: nothing is applied twice.
    for (int i = 0; i < 5; ++i) publish("in", i);
    auto again = start_transactional_projector(
        *store_, {.topic = "in", .group = "count", .handler = count_handler});
    ASSERT_TRUE(again->wait_until(seq_t{35}, 10s));
    EXPECT_NE(body("counts", "a").find("\"n\":35"), std::string::npos);
    EXPECT_EQ(bus(*store_).cursor("in", "count").value(), 35);
}

// A store error met by the handler's own reads and writes (PostgreSQL's deadlock detector
// aborting one of two projectors, a database away for a moment) is retried until it passes,
// however many retries that takes: the event is never dead-lettered for it.
TEST_P(projector_contract, a_transient_store_error_in_the_handler_is_retried_not_dead_lettered) {
    publish("in", 1);
    auto failures = std::make_shared<std::atomic<int>>(0);
    auto flaky = [failures](const event& e, transaction& txn) -> status {
        if (failures->fetch_add(1) < 6) return fail(errc::conflict, "deadlock detected");
        return count_handler(e, txn);
    };
    auto p = start_transactional_projector(
        *store_, {.topic = "in", .group = "count", .handler = flaky, .retries = 2, .backoff = 1ms});
    ASSERT_TRUE(p->wait_until(seq_t{1}, 10s));
    EXPECT_NE(body("counts", "a").find("\"n\":1"), std::string::npos);
    EXPECT_EQ(p->metrics().dead_lettered.load(), 0u);
    auto dlq = store_->scan({.topic = "in.dlq"});
    EXPECT_TRUE(!dlq || dlq->empty());
}

TEST_P(projector_contract, a_poison_event_goes_to_the_dead_letter_topic_and_leaves_no_write) {
    publish("in", 1);
    publish("in", "poison", "bad", "poison-id");
    publish("in", 3);
    auto p = start_transactional_projector(
        *store_,
        {.topic = "in", .group = "count", .handler = count_handler, .retries = 2, .backoff = 1ms});
    ASSERT_TRUE(p->wait_until(seq_t{3}, 10s));
    EXPECT_NE(body("counts", "a").find("\"n\":2"), std::string::npos);
    EXPECT_EQ(body("counts", "poisoned"), "");
    auto dlq = store_->scan({.topic = "in.dlq"});
    ASSERT_TRUE(dlq);
    ASSERT_EQ(dlq->size(), 1u);
    EXPECT_EQ((*dlq)[0].id, "prom-dl:2@count");
    EXPECT_EQ((*dlq)[0].headers.at("prom-original-id"), "poison-id");
    EXPECT_EQ((*dlq)[0].headers.at("prom-source-seq"), "2");
    EXPECT_NE((*dlq)[0].headers.at("prom-error").find("poison"), std::string::npos);
    EXPECT_EQ(p->metrics().dead_lettered.load(), 1u);
    EXPECT_GE(p->metrics().retries.load(), 2u);
}

// A handler evaluated before the write transaction (projector_options::
// evaluate_before_writing, what user-defined projectors use) holds no write lock while it
// runs: an append made while it is busy returns before it finishes. On SQLite, where one
// connection writes the log and every projector, a slow handler held up every publish.
TEST_P(projector_contract, a_handler_evaluated_before_writing_does_not_hold_up_appends) {
    publish("slow", 1);
    std::atomic<bool> in_handler{false}, appended_meanwhile{false};
    std::atomic<int> calls{0};
    auto slow = [&](const event&, transaction& txn) -> status {
        if (calls++ == 0) {
            in_handler = true;
            std::this_thread::sleep_for(1500ms);  // the test appends meanwhile
            in_handler = false;
        }
        return txn.update("slow", "k", json::object{{"$inc", json::object{{"n", 1}}}}, true);
    };
    auto p = start_transactional_projector(
        *store_,
        {.topic = "slow", .group = "slow", .handler = slow, .evaluate_before_writing = true});
    ASSERT_TRUE(test::eventually([&] { return in_handler.load(); }, 10s));
    publish("other", 2);
    appended_meanwhile = in_handler.load();
    EXPECT_TRUE(appended_meanwhile) << "the append waited for the handler";
    ASSERT_TRUE(p->wait_until(seq_t{1}, 10s));
    EXPECT_NE(body("slow", "k").find("\"n\":1"), std::string::npos) << body("slow", "k");
}

// A batch of handlers evaluated before writing that runs longer than the lease renews it as
// it goes: a second consumer of the group (another node) stands by instead of taking the
// lease over and evaluating the same events again (found from outside: for ~5 s two nodes
// ran one batch, and a poison event ran 8 times instead of at most 5).
TEST_P(projector_contract, a_batch_longer_than_the_lease_keeps_it) {
    for (int i = 0; i < 20; ++i) publish("long", i, "k" + std::to_string(i));
    std::atomic<int> calls{0};
    auto slow = [&](const event&, transaction& txn) -> status {
        ++calls;
        std::this_thread::sleep_for(60ms);  // 20 events: 1.2 s, four times the lease
        return txn.update("long", "k", json::object{{"$inc", json::object{{"n", 1}}}}, true);
    };
    projector_options o{.topic = "long",
                        .group = "long",
                        .handler = slow,
                        .evaluate_before_writing = true,
                        .lease_ttl = 300ms};
    auto first = start_transactional_projector(*store_, o);
    ASSERT_TRUE(test::eventually([&] { return calls.load() > 0; }, 10s));
    auto second = start_transactional_projector(*store_, o);
    ASSERT_TRUE(first->wait_until(seq_t{20}, 20s));
    std::this_thread::sleep_for(400ms);  // a takeover would evaluate again now
    EXPECT_EQ(calls.load(), 20) << "events evaluated twice: the lease changed hands";
    EXPECT_EQ(second->metrics().applied.load(), 0u);
    EXPECT_NE(body("long", "k").find("\"n\":20"), std::string::npos) << body("long", "k");
}

// Poison events are retried with backoff and dead-lettered one by one, outside any
// transaction: a run of them longer than the lease keeps it too, whatever the handler's
// kind (found from outside: the built-in projector's lease lapsed after ~5 s of them and a
// second node ran beside it).
TEST_P(projector_contract, a_run_of_poison_events_longer_than_the_lease_keeps_it) {
    for (int i = 0; i < 6; ++i) publish("poisoned", "bad", "p" + std::to_string(i));
    publish("poisoned", 1, "good");
    std::atomic<int> calls{0};
    auto picky = [&](const event& e, transaction& txn) -> status {
        ++calls;
        if (e.payload.is_string()) return fail(errc::invalid_argument, "not a number");
        return txn.update("picky", "k", json::object{{"$inc", json::object{{"n", 1}}}}, true);
    };
    // Each poison event: 3 attempts and 2 waits of 60 and 120 ms, so six of them take about
    // 1.1 s, over three times the lease.
    projector_options o{.topic = "poisoned",
                        .group = "picky",
                        .handler = picky,
                        .retries = 2,
                        .backoff = 60ms,
                        .lease_ttl = 300ms};
    auto first = start_transactional_projector(*store_, o);
    ASSERT_TRUE(test::eventually([&] { return calls.load() > 0; }, 10s));
    auto second = start_transactional_projector(*store_, o);
    ASSERT_TRUE(first->wait_until(seq_t{7}, 20s));
    std::this_thread::sleep_for(400ms);  // a takeover would evaluate again now
    EXPECT_EQ(first->metrics().dead_lettered.load(), 6u);
    EXPECT_EQ(second->metrics().dead_lettered.load(), 0u) << "the lease changed hands";
    EXPECT_EQ(second->metrics().applied.load(), 0u);
    // The whole batch once, then each of the 7 events alone: the poison ones 3 times.
    EXPECT_LE(calls.load(), 7 + 6 * 3 + 1) << "events evaluated twice: the lease changed hands";
    EXPECT_NE(body("picky", "k").find("\"n\":1"), std::string::npos) << body("picky", "k");
}

// A handler's error text may quote the event's payload; once the key is erased, the text
// goes with the erasure marker, and whoever keeps a copy hears of it (found from outside:
// GET /projectors/{name} still showed the erased payload in last_error).
TEST_P(projector_contract, an_erasure_marker_takes_the_error_text_about_its_key_away) {
    publish("cards", json::object{{"card", "SECRET-4111"}}, "alice");
    publish("cards", json::object{{"card", "ok"}}, "bob");
    auto handler = [](const event& e, transaction&) -> status {
        if (e.payload.is_object() && e.payload.at("card") != "ok") {
            return fail(errc::invalid_argument,
                        "bad card " + std::string(e.payload.at("card").as_string()));
        }
        return {};
    };
    std::mutex mu;
    std::vector<std::string> heard;
    auto p =
        start_transactional_projector(*store_, {.topic = "cards",
                                                .group = "cards",
                                                .handler = handler,
                                                .retries = 0,
                                                .backoff = 1ms,
                                                .on_erasure_marker = [&](std::string_view key) {
                                                    std::lock_guard lock(mu);
                                                    heard.emplace_back(key);
                                                }});
    ASSERT_TRUE(p->wait_until(seq_t{2}, 10s));
    EXPECT_NE(p->metrics().last_error.get().find("SECRET-4111"), std::string::npos);
    ASSERT_TRUE(retention::erase(*store_, "cards", "bob"));  // another key: the text stays
    ASSERT_TRUE(p->wait_until(seq_t{3}, 10s));
    EXPECT_NE(p->metrics().last_error.get().find("SECRET-4111"), std::string::npos);

    ASSERT_TRUE(retention::erase(*store_, "cards", "alice"));
    ASSERT_TRUE(p->wait_until(seq_t{4}, 10s));  // its marker
    EXPECT_EQ(p->metrics().last_error.get(), "");
    std::lock_guard lock(mu);
    EXPECT_EQ(heard, (std::vector<std::string>{"bob", "alice"}));
}

// A stop (shutdown, or a user definition deleted or replaced) abandons a batch between two
// events: it returns within one event, and nothing of the batch commits (found from outside:
// a deleted definition's batch of 20 slow events committed 9 s after the DELETE answered).
TEST_P(projector_contract, a_stop_abandons_the_batch_between_two_events) {
    for (int i = 0; i < 20; ++i) publish("slow", i, "k" + std::to_string(i));
    std::atomic<int> calls{0};
    auto slow = [&](const event&, transaction& txn) -> status {
        ++calls;
        std::this_thread::sleep_for(100ms);  // the batch of 20: 2 s
        return txn.update("slow", "k", json::object{{"$inc", json::object{{"n", 1}}}}, true);
    };
    for (bool before_writing : {true, false}) {
        calls = 0;
        auto p = start_transactional_projector(*store_, {.topic = "slow",
                                                         .group = "slow",
                                                         .handler = slow,
                                                         .evaluate_before_writing = before_writing,
                                                         .lease_ttl = 5s});
        ASSERT_TRUE(test::eventually([&] { return calls.load() > 0; }, 10s));
        const auto stopping = std::chrono::steady_clock::now();
        p->stop();
        EXPECT_LT(std::chrono::steady_clock::now() - stopping, 1s) << before_writing;
        EXPECT_LT(calls.load(), 20) << before_writing;
        EXPECT_EQ(store_->cursor("slow", "slow")->value_or(seq_t{}), seq_t{}) << before_writing;
        EXPECT_EQ(body("slow", "k"), "") << before_writing;
        EXPECT_EQ(p->metrics().dead_lettered.load(), 0u) << before_writing;
    }
}

// A document the batch read and then deleted by someone else (an erasure) before the batch
// was written: the replay notices, the batch is evaluated again, and the erased content is
// not written back.
TEST_P(projector_contract, an_evaluated_batch_never_writes_back_what_was_erased_meanwhile) {
    {
        auto txn = store_->begin();
        ASSERT_TRUE(txn);
        ASSERT_TRUE((*txn)->update_one("c", "x", json::object{{"name", "secret"}}, true));
        ASSERT_TRUE((*txn)->commit());
    }
    publish("er", 1, "x");
    std::atomic<bool> in_handler{false}, erased{false};
    std::atomic<int> calls{0};
    auto copying = [&](const event&, transaction& txn) -> status {
        auto d = txn.find_one("c", "x");
        if (!d) return std::unexpected(d.error());
        std::string name = *d ? parse_json((*d)->body)->at("name").as_string().c_str() : "none";
        if (calls++ == 0) {
            in_handler = true;
            test::eventually([&] { return erased.load(); }, 10s);
        }
        return txn.update("c", "x", json::object{{"$set", json::object{{"name", name}}}}, true);
    };
    auto p = start_transactional_projector(*store_, {.topic = "er",
                                                     .group = "copy",
                                                     .handler = copying,
                                                     .evaluate_before_writing = true,
                                                     .backoff = 1ms});
    ASSERT_TRUE(test::eventually([&] { return in_handler.load(); }, 10s));
    {
        auto txn = store_->begin();
        ASSERT_TRUE(txn);
        ASSERT_TRUE((*txn)->delete_one("c", "x"));
        ASSERT_TRUE((*txn)->commit());
    }
    erased = true;
    ASSERT_TRUE(p->wait_until(seq_t{1}, 10s));
    EXPECT_EQ(body("c", "x").find("secret"), std::string::npos) << body("c", "x");
    EXPECT_NE(body("c", "x").find("\"name\":\"none\""), std::string::npos) << body("c", "x");
    EXPECT_GE(calls.load(), 2);
}

// What an evaluated batch does is what the same handler does inside the transaction: later
// events read earlier events' writes (update's and update_one's), deletions and emits are
// applied in order, once, and a failing event leaves nothing behind.
TEST_P(projector_contract, an_evaluated_batch_reads_its_own_writes_and_applies_them_once) {
    for (int i = 1; i <= 6; ++i) publish("ev", i, "k" + std::to_string(i));
    publish("ev", "poison", "bad", "poison-id");
    publish("ev", 8, "k8");
    auto handler = [](const event& e, transaction& txn) -> status {
        if (e.payload.is_string()) {
            (void)txn.update("acc", "total", json::object{{"$inc", json::object{{"n", 100}}}},
                             true);
            return fail(errc::invalid_argument, "cannot digest poison");
        }
        json::object inc{{"$inc", json::object{{"n", e.payload.to_number<std::int64_t>()}}}};
        if (auto ok = txn.update("acc", "total", std::move(inc), true); !ok) return ok;
        auto seen = txn.find_one("acc", "total");
        if (!seen || !*seen) return fail(errc::internal, "the batch's own write is not read");
        auto n = parse_json((*seen)->body)->at("n").to_number<std::int64_t>();
        auto copy =
            txn.update_one("acc", "copy", json::object{{"$set", json::object{{"n", n}}}}, true);
        if (!copy) return std::unexpected(copy.error());
        if (e.seq.value % 2 == 0) {
            if (auto gone = txn.delete_one("acc", "copy"); !gone || !*gone) {
                return fail(errc::internal, "the batch's own document cannot be deleted");
            }
        }
        event_input out;
        out.topic = "ev.out";
        out.key = e.key;
        out.id = e.id + "-out";
        out.payload = n;
        auto emitted = txn.append({std::move(out)});
        return emitted ? status{} : std::unexpected(emitted.error());
    };
    auto p = start_transactional_projector(*store_, {.topic = "ev",
                                                     .group = "eval",
                                                     .handler = handler,
                                                     .evaluate_before_writing = true,
                                                     .batch_size = 4,
                                                     .retries = 1,
                                                     .backoff = 1ms});
    ASSERT_TRUE(p->wait_until(seq_t{8}, 10s));
    EXPECT_NE(body("acc", "total").find("\"n\":29"), std::string::npos) << body("acc", "total");
    EXPECT_EQ(body("acc", "copy"), "");  // deleted by the last event (seq 8)
    auto out = store_->scan({.topic = "ev.out"});
    ASSERT_TRUE(out);
    ASSERT_EQ(out->size(), 7u);
    std::vector<std::int64_t> running;
    for (const auto& e : *out) running.push_back(e.payload.to_number<std::int64_t>());
    EXPECT_EQ(running, (std::vector<std::int64_t>{1, 3, 6, 10, 15, 21, 29}));
    auto dlq = store_->scan({.topic = "ev.dlq"});
    ASSERT_TRUE(dlq);
    ASSERT_EQ(dlq->size(), 1u);
    EXPECT_EQ((*dlq)[0].headers.at("prom-original-id"), "poison-id");
}

// A poison event is tried 1 + retries times alone (4), and once more when it came in a
// batch that failed (5): the batch is split at its first failure, not retried as a whole
// first (it ran 8 times). Found from outside.
TEST_P(projector_contract, a_poison_event_is_tried_once_plus_its_retries_alone) {
    std::atomic<int> poison_calls{0};
    auto handler = [&](const event& e, transaction& txn) -> status {
        if (e.payload.is_string()) {
            ++poison_calls;
            return fail(errc::invalid_argument, "cannot digest poison");
        }
        return txn.update("counts", "n", json::object{{"$inc", json::object{{"n", 1}}}}, true);
    };
    publish("alone", "poison", "p");
    auto single = start_transactional_projector(
        *store_, {.topic = "alone", .group = "g", .handler = handler, .backoff = 1ms});
    ASSERT_TRUE(single->wait_until(seq_t{1}, 10s));
    EXPECT_EQ(poison_calls.load(), 4);
    single.reset();

    poison_calls = 0;
    publish("batched", 1);
    publish("batched", "poison", "p");
    publish("batched", 3);
    auto batched = start_transactional_projector(
        *store_, {.topic = "batched", .group = "g", .handler = handler, .backoff = 1ms});
    ASSERT_TRUE(batched->wait_until(seq_t{3}, 10s));
    EXPECT_EQ(poison_calls.load(), 5);
    EXPECT_EQ(batched->metrics().dead_lettered.load(), 1u);
    EXPECT_NE(body("counts", "n").find("\"n\":2"), std::string::npos) << body("counts", "n");
}

// Two groups that fail on one event each keep their own dead letter (with the event's own id
// as the entry's, the second was an idempotent duplicate and dropped: that group could
// never replay it).
TEST_P(projector_contract, two_groups_failing_on_one_event_each_keep_a_dead_letter) {
    publish("in", 1);
    publish("in", "poison", "bad", "poison-id");
    for (const char* group : {"count", "other"}) {
        auto p = start_transactional_projector(*store_, {.topic = "in",
                                                         .group = group,
                                                         .handler = count_handler,
                                                         .retries = 0,
                                                         .backoff = 1ms});
        ASSERT_TRUE(p->wait_until(seq_t{2}, 10s)) << group;
    }
    auto dlq = store_->scan({.topic = "in.dlq"});
    ASSERT_TRUE(dlq);
    ASSERT_EQ(dlq->size(), 2u);
    EXPECT_EQ((*dlq)[0].id, "prom-dl:2@count");
    EXPECT_EQ((*dlq)[1].id, "prom-dl:2@other");
    for (const char* group : {"count", "other"}) {
        auto listed = ops::list_dead_letters(*store_, "in", std::string_view(group));
        ASSERT_TRUE(listed);
        ASSERT_EQ(listed->size(), 1u) << group;
        EXPECT_EQ((*listed)[0].original_id, "poison-id");
    }
    // By seq, whatever the event's id; a group too long for an id is hashed.
    event e{.id = std::string(251, 'x'), .topic = "in", .seq = seq_t{7}};
    EXPECT_EQ(ops::dead_letter_id(e, "group"), "prom-dl:7@group");
    EXPECT_EQ(ops::dead_letter_id(e, std::string(300, 'g')).size(), 10u + 32u);
}

// A store whose commit refuses, for good, a transaction that wrote the document "poisoned"
// (as a database refuses a value it cannot hold): the handler succeeds, the store never will.
class refusing_store final : public test::forwarding_store {
  public:
    using forwarding_store::forwarding_store;

    result<std::unique_ptr<transaction>> begin() override {
        auto t = inner_.begin();
        if (!t) return t;
        return std::unique_ptr<transaction>(new refusing_txn(std::move(*t)));
    }

  private:
    class refusing_txn final : public transaction {
      public:
        explicit refusing_txn(std::unique_ptr<transaction> t) : t_(std::move(t)) {}
        result<std::optional<document>> find_one(std::string_view c, std::string_view k) override {
            return t_->find_one(c, k);
        }
        result<document> update_one(std::string_view c, std::string_view k, const json::object& u,
                                    bool upsert) override {
            if (k == "poisoned") poisoned_ = true;
            return t_->update_one(c, k, u, upsert);
        }
        result<std::vector<append_result>> append(std::vector<event_input> b) override {
            return t_->append(std::move(b));
        }
        status set_cursor(std::string_view t, std::string_view g, seq_t s) override {
            return t_->set_cursor(t, g, s);
        }
        result<std::optional<seq_t>> cursor(std::string_view t, std::string_view g) override {
            return t_->cursor(t, g);
        }
        status commit() override {
            if (poisoned_) return fail(errc::invalid_argument, "the store cannot hold this value");
            return t_->commit();
        }

      private:
        std::unique_ptr<transaction> t_;
        bool poisoned_ = false;
    };
};

// The effects of an event that the store refuses for good (not a passing outage) are a
// poison event like a failing handler: retried, then dead-lettered, and the retry metric
// counts the attempts that were made (it used to say 0 while the batch was retried forever).
TEST_P(projector_contract,
       effects_the_store_refuses_for_good_are_dead_lettered_with_true_retry_counts) {
    publish("in", 1);
    publish("in", "refused", "bad", "refused-id");
    publish("in", 3);
    refusing_store refusing(*store_);
    auto handler = [](const event& e, transaction& txn) -> status {
        std::string key = e.payload.is_string() ? "poisoned" : "a";
        json::object inc{{"$inc", json::object{{"n", 1}}}};
        if (auto r = txn.update_one("counts", key, inc, true); !r)
            return std::unexpected(r.error());
        return {};
    };
    auto p = start_transactional_projector(
        refusing,
        {.topic = "in", .group = "count", .handler = handler, .retries = 2, .backoff = 1ms});
    ASSERT_TRUE(p->wait_until(seq_t{3}, 10s));
    EXPECT_NE(body("counts", "a").find("\"n\":2"), std::string::npos);
    EXPECT_EQ(body("counts", "poisoned"), "");
    auto dlq = store_->scan({.topic = "in.dlq"});
    ASSERT_TRUE(dlq);
    ASSERT_EQ(dlq->size(), 1u);
    EXPECT_EQ((*dlq)[0].id, "prom-dl:2@count");
    EXPECT_NE((*dlq)[0].headers.at("prom-error").find("cannot hold"), std::string::npos);
    EXPECT_EQ(p->metrics().dead_lettered.load(), 1u);
    // The batch of three fails once and is split; the refused event alone: 2 retries.
    EXPECT_EQ(p->metrics().retries.load(), 2u);
    p->stop();
}

TEST_P(projector_contract, stop_on_poison_keeps_the_cursor_before_the_failing_event) {
    publish("in", 1);
    publish("in", "poison");
    publish("in", 3);
    auto p = start_transactional_projector(*store_, {.topic = "in",
                                                     .group = "count",
                                                     .handler = count_handler,
                                                     .retries = 1,
                                                     .backoff = 1ms,
                                                     .poison = on_poison::stop});
    for (int i = 0; i < 1000 && !p->metrics().stopped_on_poison; ++i)
        std::this_thread::sleep_for(5ms);
    ASSERT_TRUE(p->metrics().stopped_on_poison);
    EXPECT_EQ(bus(*store_).cursor("in", "count").value(), 1);
    EXPECT_NE(body("counts", "a").find("\"n\":1"), std::string::npos);
    EXPECT_EQ(body("counts", "poisoned"), "");
    EXPECT_FALSE(*store_->topic("in.dlq"));
}

TEST_P(projector_contract, seed_harness_heartbeat_becomes_process_state_and_documents) {
    auto procs = start_process_projectors(*store_, {.stale_after = 60s});
    publish("heartbeat.received",
            *parse_json(R"({"pid":1,"name":"stt","host":"local","cpu_pct":1,"mem_mb":2})"), "",
            "hb-1");
    ASSERT_TRUE(procs->heartbeat_projector().wait_until(seq_t{1}, 10s));
    // the projector's cursor exists
    EXPECT_TRUE(store_->cursor("heartbeat.received", "process-projector").value());
    auto states = store_->scan({.topic = "process.state"});
    ASSERT_TRUE(states);
    ASSERT_EQ(states->size(), 1u);
    EXPECT_EQ((*states)[0].id, "prom-state-of:1");
    EXPECT_EQ((*states)[0].key, "local:stt:1");
    const auto& p = (*states)[0].payload.get_object();
    EXPECT_EQ(p.at("status"), "alive");
    EXPECT_EQ(p.at("processId"), "local:stt:1");

    ASSERT_TRUE(procs->txn_projector().wait_until(seq_t{1}, 10s));
    auto doc = body("processes", "local:stt:1");
    EXPECT_NE(doc.find("\"status\":\"alive\""), std::string::npos);
    EXPECT_NE(doc.find("\"_key\":\"local:stt:1\""), std::string::npos);
    EXPECT_NE(body("host_stats", "local").find("\"seen\":1"), std::string::npos);

    // Redelivering the same heartbeat (same id) derives nothing new.
    publish("heartbeat.received",
            *parse_json(R"({"pid":1,"name":"stt","host":"local","cpu_pct":1,"mem_mb":2})"), "",
            "hb-1");
    publish("heartbeat.received",
            *parse_json(R"({"pid":2,"name":"stt","host":"local","processId":"custom"})"), "",
            "hb-2");
    ASSERT_TRUE(procs->heartbeat_projector().wait_until(seq_t{2}, 10s));
    ASSERT_TRUE(procs->txn_projector().wait_until(seq_t{2}, 10s));
    EXPECT_EQ((*store_->topic("process.state"))->count, 2);
    EXPECT_NE(body("processes", "custom").find("\"pid\":2"), std::string::npos);
    EXPECT_NE(body("host_stats", "local").find("\"seen\":2"), std::string::npos);
}

TEST_P(projector_contract, a_silent_process_turns_stale_once) {
    publish("heartbeat.received", *parse_json(R"({"pid":3,"name":"w","host":"h"})"), "", "hb");
    auto procs =
        start_process_projectors(*store_, {.stale_after = 50ms, .stale_check_every = 20ms});
    ASSERT_TRUE(procs->txn_projector().wait_until(seq_t{1}, 10s));
    for (int i = 0; i < 500 && body("processes", "h:w:3").find("stale") == std::string::npos; ++i) {
        std::this_thread::sleep_for(10ms);
    }
    EXPECT_NE(body("processes", "h:w:3").find("\"status\":\"stale\""), std::string::npos);
    std::this_thread::sleep_for(100ms);  // more checks must not emit it again
    EXPECT_EQ((*store_->topic("process.state"))->count, 2);
    EXPECT_EQ(procs->stale_emitted(), 1u);
}

// A process that comes alive again with the same last_seen (the heartbeat sent once more)
// turns stale again (found from outside: the second stale state was a "duplicate" of the
// first, and the process stayed alive for good); a publisher cannot take a derived id first.
TEST_P(projector_contract, a_process_alive_again_with_the_same_last_seen_turns_stale_again) {
    EXPECT_EQ(bus(*store_)
                  .publish({.topic = "process.state",
                            .id = "state-of:hb",
                            .payload = json::object{{"processId", "x"}, {"host", "h"}}})
                  ->duplicate,
              false);  // the old derived form is an ordinary id now
    auto heartbeat = *parse_json(R"({"pid":3,"name":"w","host":"h"})");
    publish("heartbeat.received", heartbeat, "", "hb");
    auto procs =
        start_process_projectors(*store_, {.stale_after = 50ms, .stale_check_every = 20ms});
    auto state_of = [&](std::string_view want) {
        for (int i = 0; i < 500; ++i) {
            if (body("processes", "h:w:3").find(want) != std::string::npos) return true;
            std::this_thread::sleep_for(10ms);
        }
        return false;
    };
    ASSERT_TRUE(state_of("\"status\":\"stale\""));
    // The same heartbeat again (another id, the same ts): alive, then stale once more.
    auto first = store_->scan({.topic = "heartbeat.received"});
    ASSERT_TRUE(first);
    ASSERT_TRUE(bus(*store_).publish({.topic = "heartbeat.received",
                                      .id = "hb-again",
                                      .ts = (*first)[0].ts,
                                      .payload = heartbeat}));
    for (int i = 0; i < 500 && procs->stale_emitted() < 2; ++i) {
        std::this_thread::sleep_for(10ms);
    }
    EXPECT_EQ(procs->stale_emitted(), 2u);
    EXPECT_TRUE(state_of("\"status\":\"stale\""));
    std::this_thread::sleep_for(100ms);  // more checks must not emit it again
    EXPECT_EQ(procs->stale_emitted(), 2u);
}

// An erased key's marker (payload null, `prom-erased`) is no poison event: the built-in
// projectors drop the key's process document and dead-letter nothing (docs/retention.md).
TEST_P(projector_contract, the_process_projectors_drop_an_erased_key_and_dead_letter_nothing) {
    auto procs = start_process_projectors(*store_, {.stale_after = 60s});
    publish("heartbeat.received", *parse_json(R"({"pid":1,"name":"api","host":"h"})"), "h:api:1");
    ASSERT_TRUE(procs->txn_projector().wait_until(seq_t{1}, 10s));
    ASSERT_NE(body("processes", "h:api:1"), "");
    for (const char* topic : {"heartbeat.received", "process.state"}) {
        auto erased = retention::erase(*store_, topic, "h:api:1");
        ASSERT_TRUE(erased) << topic << ": " << erased.error().message;
    }
    ASSERT_TRUE(procs->heartbeat_projector().wait_until(seq_t{2}, 10s));
    ASSERT_TRUE(procs->txn_projector().wait_until(seq_t{2}, 10s));
    EXPECT_EQ(body("processes", "h:api:1"), "");
    for (const char* dlq : {"heartbeat.received.dlq", "process.state.dlq"}) {
        auto t = store_->topic(dlq);
        ASSERT_TRUE(t);
        EXPECT_FALSE(*t) << dlq;
    }
}

TEST_P(projector_contract, a_malformed_heartbeat_is_dead_lettered_not_fatal) {
    publish("heartbeat.received", json::value("not an object"));
    publish("heartbeat.received", *parse_json(R"({"pid":1,"name":"ok","host":"h"})"));
    // A processId of the wrong type is not replaced by the default (found from outside).
    publish("heartbeat.received", *parse_json(R"({"pid":4,"name":"j","host":"h","processId":5})"));
    publish("heartbeat.received",
            *parse_json(R"({"pid":5,"name":"j","host":"h","processId":null})"));
    auto procs = start_process_projectors(*store_, {.stale_after = 60s});
    ASSERT_TRUE(procs->heartbeat_projector().wait_until(seq_t{4}, 20s));
    EXPECT_EQ((*store_->topic("heartbeat.received.dlq"))->count, 2);
    EXPECT_EQ((*store_->topic("process.state"))->count, 2);
}

INSTANTIATE_TEST_SUITE_P(backends, projector_contract, testing::ValuesIn(test::contract_backends()),
                         test::backend_name);

}  // namespace
}  // namespace prom
