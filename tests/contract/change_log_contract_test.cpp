// The change log of a collection (store.hpp, document_change; docs/watches.md): every
// backend must pass these unchanged.
#include <gtest/gtest.h>

#include <thread>

#include "support/test_support.hpp"

namespace prom {
namespace {

class change_log_contract : public testing::TestWithParam<test::backend> {
  protected:
    void SetUp() override {
        store_ = test::open_or_die(GetParam().fresh_url(dir_), {.durable = false});
        ASSERT_NE(store_, nullptr);
    }

    static json::object set(std::string_view field, std::int64_t v) {
        return json::object{{"$set", json::object{{field, v}}}};
    }

    void put(std::string_view coll, std::string_view key, std::int64_t v) {
        auto txn = store_->begin();
        ASSERT_TRUE(txn) << txn.error().message;
        auto r = (*txn)->update_one(coll, key, set("v", v), true);
        ASSERT_TRUE(r) << r.error().message;
        auto ok = (*txn)->commit();
        ASSERT_TRUE(ok) << ok.error().message;
    }

    bool remove(std::string_view coll, std::string_view key) {
        auto txn = store_->begin();
        EXPECT_TRUE(txn);
        auto r = (*txn)->delete_one(coll, key);
        EXPECT_TRUE(r) << r.error().message;
        auto ok = (*txn)->commit();
        EXPECT_TRUE(ok) << ok.error().message;
        return r && *r;
    }

    std::vector<document_change> read(std::string_view coll, std::int64_t after,
                                      std::size_t limit = 1000) {
        auto r = store_->changes({std::string(coll), seq_t{after}, limit});
        EXPECT_TRUE(r) << r.error().message;
        return r ? *r : std::vector<document_change>{};
    }

    std::int64_t head(std::string_view coll) {
        auto r = store_->last_change(coll);
        EXPECT_TRUE(r) << r.error().message;
        return r ? r->value : -1;
    }

    test::temp_dir dir_;
    std::unique_ptr<store> store_;
};

// logged_collections lists every collection a commit wrote, by a literal prefix (a '_' in it
// is no wildcard), in byte order: how an erasure finds every rebuild's shadow.
TEST_P(change_log_contract, logged_collections_lists_written_collections_by_prefix) {
    put("orders", "k", 1);
    put("_prom.0a1b.orders", "k", 1);
    put("_prom.ff00.orders", "k", 1);
    put("_promx", "k", 1);
    ASSERT_TRUE(remove("_prom.0a1b.orders", "k"));  // emptied: its log stays
    auto shadows = store_->logged_collections("_prom.");
    ASSERT_TRUE(shadows) << shadows.error().message;
    EXPECT_EQ(*shadows, (std::vector<std::string>{"_prom.0a1b.orders", "_prom.ff00.orders"}));
    auto literal = store_->logged_collections("_prom_");
    ASSERT_TRUE(literal);
    EXPECT_TRUE(literal->empty());
    auto all = store_->logged_collections("");
    ASSERT_TRUE(all);
    EXPECT_EQ(*all, (std::vector<std::string>{"_prom.0a1b.orders", "_prom.ff00.orders", "_promx",
                                              "orders"}));
}

// Erasing a document (docs/retention.md) leaves none of its content in the change log: the
// key's earlier changes read as deletions, other keys' keep theirs, seqs stay as they were.
TEST_P(change_log_contract, erasing_a_document_drops_its_bodies_from_the_log) {
    put("c", "secret", 1);
    put("c", "other", 2);
    put("c", "secret", 3);
    auto erase = [&](std::string_view key) {
        auto txn = store_->begin();
        EXPECT_TRUE(txn);
        auto r = (*txn)->erase_one("c", key);
        EXPECT_TRUE(r) << r.error().message;
        auto ok = (*txn)->commit();
        EXPECT_TRUE(ok) << ok.error().message;
        return r && *r;
    };
    EXPECT_TRUE(erase("secret"));
    auto log = read("c", 0);
    ASSERT_EQ(log.size(), 4u);  // three writes and the deletion
    for (std::size_t i = 0; i < log.size(); ++i) {
        EXPECT_EQ(log[i].seq, seq_t{static_cast<std::int64_t>(i) + 1});
        if (log[i].key == "secret") {
            EXPECT_TRUE(log[i].deleted) << i;
            EXPECT_TRUE(log[i].body.empty()) << i;
            EXPECT_TRUE(log[i].etag.empty()) << i;
        } else {
            EXPECT_FALSE(log[i].deleted);
            EXPECT_NE(log[i].body.find("\"v\":2"), std::string::npos) << log[i].body;
        }
    }
    auto gone = store_->find_one("c", "secret");
    ASSERT_TRUE(gone);
    EXPECT_FALSE(*gone);
    // A document deleted earlier still has its history erased; then nothing is left to erase.
    put("c", "later", 4);
    EXPECT_TRUE(remove("c", "later"));
    EXPECT_TRUE(erase("later"));
    for (const auto& c : read("c", 0)) {
        if (c.key == "later") EXPECT_TRUE(c.deleted && c.body.empty()) << c.seq.value;
    }
    EXPECT_FALSE(erase("later"));
    EXPECT_FALSE(erase("never"));
}

TEST_P(change_log_contract, a_collection_without_changes_has_an_empty_log) {
    EXPECT_EQ(head("nothing"), 0);
    EXPECT_TRUE(read("nothing", 0).empty());
}

TEST_P(change_log_contract, each_commit_logs_its_documents_in_order_with_body_and_etag) {
    put("c", "a", 1);
    put("c", "b", 2);
    put("c", "a", 3);
    auto log = read("c", 0);
    ASSERT_EQ(log.size(), 3u);
    for (std::size_t i = 0; i < log.size(); ++i) {
        EXPECT_EQ(log[i].seq, seq_t{static_cast<std::int64_t>(i) + 1});
        EXPECT_EQ(log[i].collection, "c");
        EXPECT_FALSE(log[i].deleted);
    }
    EXPECT_EQ(log[0].key, "a");
    EXPECT_EQ(log[1].key, "b");
    EXPECT_EQ(log[2].key, "a");
    auto doc = store_->find_one("c", "a");
    ASSERT_TRUE(doc && *doc);
    EXPECT_EQ(log[2].body, (*doc)->body);
    EXPECT_EQ(log[2].etag, (*doc)->etag);
    EXPECT_EQ(log[2].ts, (*doc)->ts);
    EXPECT_NE(log[0].etag, log[2].etag);
    EXPECT_EQ(head("c"), 3);
}

TEST_P(change_log_contract, collections_have_their_own_sequences) {
    put("one", "k", 1);
    put("two", "k", 1);
    put("one", "k", 2);
    EXPECT_EQ(head("one"), 2);
    EXPECT_EQ(head("two"), 1);
    auto two = read("two", 0);
    ASSERT_EQ(two.size(), 1u);
    EXPECT_EQ(two[0].seq, seq_t{1});
    EXPECT_EQ(two[0].collection, "two");
}

TEST_P(change_log_contract, resuming_after_an_id_gives_exactly_the_later_changes) {
    for (int i = 1; i <= 10; ++i) put("c", "k" + std::to_string(i % 3), i);
    auto all = read("c", 0);
    ASSERT_EQ(all.size(), 10u);
    auto later = read("c", 6);
    ASSERT_EQ(later.size(), 4u);
    for (std::size_t i = 0; i < later.size(); ++i) {
        EXPECT_EQ(later[i].seq, all[6 + i].seq);
        EXPECT_EQ(later[i].key, all[6 + i].key);
        EXPECT_EQ(later[i].body, all[6 + i].body);
    }
    auto page = read("c", 2, 3);
    ASSERT_EQ(page.size(), 3u);
    EXPECT_EQ(page.front().seq, seq_t{3});
    EXPECT_EQ(page.back().seq, seq_t{5});
    EXPECT_TRUE(read("c", 10).empty());
    EXPECT_TRUE(read("c", 99).empty());
}

TEST_P(change_log_contract, a_deletion_removes_the_document_and_is_logged) {
    put("c", "gone", 1);
    EXPECT_TRUE(remove("c", "gone"));
    auto doc = store_->find_one("c", "gone");
    ASSERT_TRUE(doc);
    EXPECT_FALSE(*doc);
    auto log = read("c", 0);
    ASSERT_EQ(log.size(), 2u);
    EXPECT_EQ(log[1].seq, seq_t{2});
    EXPECT_EQ(log[1].key, "gone");
    EXPECT_TRUE(log[1].deleted);
    EXPECT_TRUE(log[1].body.empty());
    EXPECT_TRUE(log[1].etag.empty());
    // Deleting what is not there changes nothing and logs nothing.
    EXPECT_FALSE(remove("c", "gone"));
    EXPECT_FALSE(remove("c", "never"));
    EXPECT_EQ(head("c"), 2);
    // A deleted document can be written again.
    put("c", "gone", 5);
    log = read("c", 2);
    ASSERT_EQ(log.size(), 1u);
    EXPECT_FALSE(log[0].deleted);
    auto again = store_->find_one("c", "gone");
    ASSERT_TRUE(again && *again);
    EXPECT_EQ(log[0].body, (*again)->body);
}

TEST_P(change_log_contract, a_transaction_logs_each_document_once_with_what_it_committed) {
    auto txn = store_->begin();
    ASSERT_TRUE(txn);
    ASSERT_TRUE((*txn)->update_one("c", "b", set("v", 1), true));
    ASSERT_TRUE((*txn)->update_one("c", "a", set("v", 1), true));
    ASSERT_TRUE((*txn)->update_one("c", "b", set("v", 2), true));
    ASSERT_TRUE((*txn)->update_one("other", "x", set("v", 1), true));
    // Read inside the transaction: a deleted document is gone there too.
    auto del = (*txn)->delete_one("c", "a");
    ASSERT_TRUE(del && *del);
    auto seen = (*txn)->find_one("c", "a");
    ASSERT_TRUE(seen);
    EXPECT_FALSE(*seen);
    ASSERT_TRUE((*txn)->commit());
    auto log = read("c", 0);
    ASSERT_EQ(log.size(), 2u);  // in key order within the commit
    EXPECT_EQ(log[0].key, "a");
    EXPECT_TRUE(log[0].deleted);
    EXPECT_EQ(log[1].key, "b");
    auto b = store_->find_one("c", "b");
    ASSERT_TRUE(b && *b);
    EXPECT_EQ(log[1].body, (*b)->body);
    EXPECT_EQ(read("other", 0).size(), 1u);
}

TEST_P(change_log_contract, a_rolled_back_transaction_logs_nothing) {
    put("c", "k", 1);
    {
        auto txn = store_->begin();
        ASSERT_TRUE(txn);
        ASSERT_TRUE((*txn)->update_one("c", "k", set("v", 2), true));
        ASSERT_TRUE((*txn)->delete_one("c", "k"));
    }  // no commit
    EXPECT_EQ(head("c"), 1);
    EXPECT_EQ(read("c", 0).size(), 1u);
    auto doc = store_->find_one("c", "k");
    ASSERT_TRUE(doc && *doc);
}

TEST_P(change_log_contract, commit_listeners_hear_of_deletions) {
    std::mutex mu;
    std::vector<document> heard;
    store_->add_commit_listener([&](const std::vector<document>& docs) {
        std::lock_guard lock(mu);
        heard.insert(heard.end(), docs.begin(), docs.end());
    });
    put("c", "k", 1);
    remove("c", "k");
    std::lock_guard lock(mu);
    ASSERT_EQ(heard.size(), 2u);
    EXPECT_FALSE(heard[0].deleted);
    EXPECT_TRUE(heard[1].deleted);
    EXPECT_EQ(heard[1].key, "k");
}

TEST_P(change_log_contract, concurrent_writers_get_a_gapless_sequence_in_commit_order) {
    constexpr int writers = 4, each = 25;
    std::vector<std::thread> threads;
    threads.reserve(writers);
    for (int w = 0; w < writers; ++w) {
        threads.emplace_back([this, w] {
            for (int i = 0; i < each; ++i) put("c", "w" + std::to_string(w), i);
        });
    }
    for (auto& t : threads) t.join();
    auto log = read("c", 0, 10000);
    ASSERT_EQ(log.size(), static_cast<std::size_t>(writers * each));
    std::map<std::string, std::int64_t> last;  // each writer's values arrive in its order
    for (std::size_t i = 0; i < log.size(); ++i) {
        EXPECT_EQ(log[i].seq, seq_t{static_cast<std::int64_t>(i) + 1});
        auto v = parse_json(log[i].body);
        ASSERT_TRUE(v && v->is_object());
        auto n = v->get_object().at("v").to_number<std::int64_t>();
        auto it = last.find(log[i].key);
        if (it != last.end()) EXPECT_GT(n, it->second) << log[i].key;
        last[log[i].key] = n;
    }
    EXPECT_EQ(head("c"), writers * each);
}

INSTANTIATE_TEST_SUITE_P(backends, change_log_contract,
                         testing::ValuesIn(test::contract_backends()), test::backend_name);

}  // namespace
}  // namespace prom
