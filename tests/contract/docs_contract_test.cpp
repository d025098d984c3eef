// Documents and transactions: every backend must pass these unchanged.
#include <gtest/gtest.h>

#include <chrono>
#include <optional>
#include <thread>

#include "support/test_support.hpp"

namespace prom {
namespace {

class docs_contract : public testing::TestWithParam<test::backend> {
  protected:
    void SetUp() override {
        store_ = test::open_or_die(GetParam().fresh_url(dir_), {.durable = false});
        ASSERT_NE(store_, nullptr);
    }

    json::object obj(std::string_view text) {
        auto v = parse_json(text);
        EXPECT_TRUE(v && v->is_object()) << text;
        return v && v->is_object() ? v->get_object() : json::object{};
    }

    result<document> update(std::string_view coll, std::string_view key, std::string_view upd,
                            bool upsert = true) {
        auto txn = store_->begin();
        if (!txn) return std::unexpected(txn.error());
        auto r = (*txn)->update_one(coll, key, obj(upd), upsert);
        if (!r) return r;
        if (auto ok = (*txn)->commit(); !ok) return std::unexpected(ok.error());
        return r;
    }

    std::string body(std::string_view coll, std::string_view key) {
        auto d = store_->find_one(coll, key);
        EXPECT_TRUE(d);
        return d && *d ? (*d)->body : "";
    }

    test::temp_dir dir_;
    std::unique_ptr<store> store_;
};

TEST_P(docs_contract, upsert_stores_canonical_body_key_ts_and_strong_etag) {
    auto d = update("c", "k1", R"({"$set":{"b":2,"a":"x","_ts":1000}})");
    ASSERT_TRUE(d) << d.error().message;
    EXPECT_EQ(d->body, R"({"_key":"k1","_ts":1000,"a":"x","b":2})");
    EXPECT_EQ(d->etag, etag_of(d->body));
    EXPECT_EQ(d->ts, 1000);
    auto again = store_->find_one("c", "k1");
    ASSERT_TRUE(again && *again);
    EXPECT_EQ((*again)->body, d->body);
    EXPECT_EQ((*again)->etag, d->etag);
}

TEST_P(docs_contract, operators_set_inc_set_on_insert_unset) {
    ASSERT_TRUE(update("c", "k",
                       R"({"$setOnInsert":{"created":1},"$inc":{"n":2},"$set":{"x":1,"_ts":5}})"));
    ASSERT_TRUE(update(
        "c", "k",
        R"({"$setOnInsert":{"created":9},"$inc":{"n":3},"$unset":{"x":""},"$set":{"_ts":6}})"));
    EXPECT_EQ(body("c", "k"), R"({"_key":"k","_ts":6,"created":1,"n":5})");
    ASSERT_TRUE(update("c", "k", R"({"$inc":{"n":0.5},"$set":{"a.b":1,"_ts":7}})"));
    EXPECT_EQ(body("c", "k"), R"({"_key":"k","_ts":7,"a":{"b":1},"created":1,"n":5.5})");
}

TEST_P(docs_contract, replacement_update_replaces_the_whole_document) {
    ASSERT_TRUE(update("c", "k", R"({"a":1,"b":2,"_ts":1})"));
    ASSERT_TRUE(update("c", "k", R"({"c":3,"_ts":2})"));
    EXPECT_EQ(body("c", "k"), R"({"_key":"k","_ts":2,"c":3})");
}

TEST_P(docs_contract, ts_defaults_to_the_time_of_the_write) {
    auto before = now_ms();
    auto d = update("c", "k", R"({"$set":{"a":1}})");
    ASSERT_TRUE(d);
    EXPECT_GE(d->ts, before);
    EXPECT_LE(d->ts, now_ms());
}

TEST_P(docs_contract, update_without_upsert_of_a_missing_document_is_not_found) {
    auto d = update("c", "nope", R"({"$set":{"a":1}})", false);
    ASSERT_FALSE(d);
    EXPECT_EQ(d.error().code, errc::not_found);
}

TEST_P(docs_contract, collection_and_key_are_checked_alike_on_every_backend) {
    for (auto [coll, key] : {std::pair<std::string, std::string>{"bad coll", "k"},
                             {"c", ""},
                             {"c", std::string("a\0b", 3)},
                             {"c", "\xff"}}) {
        auto d = update(coll, key, R"({"$set":{"a":1}})");
        ASSERT_FALSE(d) << coll << "/" << key;
        EXPECT_EQ(d.error().code, errc::invalid_argument);
    }
}

// A key as long as an event's may be written; a longer one is refused by every write path
// (update_one and the projectors' update), while reads and deletes of it find nothing.
TEST_P(docs_contract, a_document_key_is_at_most_1024_bytes_when_written) {
    const std::string longest(1024, 'k'), too_long(1025, 'k');
    ASSERT_TRUE(update("c", longest, R"({"$set":{"a":1}})"));
    EXPECT_NE(body("c", longest), "");

    auto refused = update("c", too_long, R"({"$set":{"a":1}})");
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().code, errc::invalid_argument);
    EXPECT_NE(refused.error().message.find("at most 1024 bytes"), std::string::npos)
        << refused.error().message;
    auto txn = store_->begin();
    ASSERT_TRUE(txn);
    auto quiet = (*txn)->update("c", too_long, obj(R"({"a":1})"), true);
    ASSERT_FALSE(quiet);
    EXPECT_EQ(quiet.error().code, errc::invalid_argument);
    auto missing = (*txn)->find_one("c", too_long);
    ASSERT_TRUE(missing) << missing.error().message;
    EXPECT_FALSE(missing->has_value());
    auto deleted = (*txn)->delete_one("c", too_long);
    ASSERT_TRUE(deleted) << deleted.error().message;
    EXPECT_FALSE(*deleted);
    txn->reset();
    auto read = store_->find_one("c", too_long);
    ASSERT_TRUE(read) << read.error().message;
    EXPECT_FALSE(read->has_value());
}

TEST_P(docs_contract, bad_updates_are_refused_and_roll_back_the_transaction) {
    ASSERT_TRUE(update("c", "k", R"({"$set":{"s":"text","_ts":1}})"));
    const std::string before = body("c", "k");
    for (auto bad : {R"({"$inc":{"s":1}})", R"({"$inc":{"n":"1"}})", R"({"$push":{"a":1}})",
                     R"({"$set":{"a":1},"plain":2})", R"({"$set":{"_key":"other"}})",
                     R"({"$set":{"x":1},"$inc":{"x":1}})", R"({"$set":{"_ts":"yesterday"}})"}) {
        auto txn = store_->begin();
        ASSERT_TRUE(txn);
        // A good write first: the failure must take it back too.
        ASSERT_TRUE((*txn)->update_one("c", "other", obj(R"({"$set":{"a":1}})"), true));
        auto r = (*txn)->update_one("c", "k", obj(bad), true);
        EXPECT_FALSE(r) << bad;
        // dropping the transaction rolls it back
    }
    EXPECT_EQ(body("c", "k"), before);
    auto other = store_->find_one("c", "other");
    ASSERT_TRUE(other);
    EXPECT_FALSE(*other);
}

// A document is at most 16 MiB (docs::max_document_bytes): one that keeps growing is
// refused at the update that would pass the bound, by update_one and update alike.
TEST_P(docs_contract, a_document_past_16_mib_is_refused_and_the_stored_one_stays) {
    const std::string six_mib(std::size_t{6} << 20, 'x');
    auto set_field = [&](std::string_view field) {
        return json::object{{"$set", json::object{{field, six_mib}}}};
    };
    for (const char* field : {"a", "b"}) {
        auto txn = store_->begin();
        ASSERT_TRUE(txn);
        ASSERT_TRUE((*txn)->update_one("c", "grows", set_field(field), true));
        ASSERT_TRUE((*txn)->commit());
    }
    const std::string before = body("c", "grows");
    for (bool with_result : {true, false}) {
        auto txn = store_->begin();
        ASSERT_TRUE(txn);
        status r;
        if (with_result) {
            auto d = (*txn)->update_one("c", "grows", set_field("c"), true);
            if (!d) r = std::unexpected(d.error());
        } else {
            r = (*txn)->update("c", "grows", set_field("c"), true);
        }
        ASSERT_FALSE(r) << with_result;
        EXPECT_EQ(r.error().code, errc::invalid_argument);
        EXPECT_NE(r.error().message.find("documents are at most 16 MiB"), std::string::npos)
            << r.error().message;
    }
    EXPECT_EQ(body("c", "grows"), before);
    // Replacing it with something smaller is fine.
    ASSERT_TRUE(update("c", "grows", R"({"small":true})"));
}

TEST_P(docs_contract, a_transaction_covers_documents_cursors_and_appends_atomically) {
    {
        auto txn = store_->begin();
        ASSERT_TRUE(txn);
        ASSERT_TRUE((*txn)->update_one("a", "1", obj(R"({"$inc":{"n":1}})"), true));
        ASSERT_TRUE((*txn)->update_one("b", "2", obj(R"({"$inc":{"n":1}})"), true));
        ASSERT_TRUE((*txn)->set_cursor("t", "g", seq_t{7}));
        std::vector<event_input> e(1);
        e[0].topic = "derived";
        e[0].payload = 1;
        ASSERT_TRUE((*txn)->append(std::move(e)));
        // uncommitted: nobody else sees it
        auto seen = store_->find_one("a", "1");
        ASSERT_TRUE(seen);
        EXPECT_FALSE(*seen);
        // dropped without commit
    }
    EXPECT_FALSE(*store_->find_one("a", "1"));
    EXPECT_FALSE(*store_->cursor("t", "g"));
    EXPECT_FALSE(*store_->topic("derived"));
    {
        auto txn = store_->begin();
        ASSERT_TRUE(txn);
        ASSERT_TRUE((*txn)->update_one("a", "1", obj(R"({"$inc":{"n":1}})"), true));
        ASSERT_TRUE((*txn)->set_cursor("t", "g", seq_t{7}));
        auto c = (*txn)->cursor("t", "g");
        ASSERT_TRUE(c && *c);
        EXPECT_EQ(**c, 7);
        std::vector<event_input> e(1);
        e[0].topic = "derived";
        e[0].payload = 1;
        ASSERT_TRUE((*txn)->append(std::move(e)));
        ASSERT_TRUE((*txn)->commit());
    }
    EXPECT_TRUE(*store_->find_one("a", "1"));
    EXPECT_EQ(**store_->cursor("t", "g"), 7);
    EXPECT_EQ((*store_->topic("derived"))->count, 1);
}

// A projector batch updates the same documents again and again in one transaction: each
// update must see the previous one, and the commit must store (and report) the last.
TEST_P(docs_contract, repeated_updates_in_one_transaction_build_on_each_other) {
    std::vector<document> reported;
    store_->add_commit_listener([&](const std::vector<document>& docs) {
        reported.insert(reported.end(), docs.begin(), docs.end());
    });
    ASSERT_TRUE(update("stats", "h", R"({"$set":{"n":10}})"));
    reported.clear();
    {
        auto txn = store_->begin();
        ASSERT_TRUE(txn);
        for (int i = 0; i < 5; ++i) {
            ASSERT_TRUE((*txn)->update_one("stats", "h", obj(R"({"$inc":{"n":1}})"), false));
            ASSERT_TRUE((*txn)->update_one("stats", "new", obj(R"({"$inc":{"n":2}})"), true));
        }
        auto mid = (*txn)->find_one("stats", "h");
        ASSERT_TRUE(mid && *mid);
        EXPECT_NE((*mid)->body.find("\"n\":15"), std::string::npos) << (*mid)->body;
        ASSERT_TRUE((*txn)->commit());
    }
    EXPECT_NE(body("stats", "h").find("\"n\":15"), std::string::npos) << body("stats", "h");
    EXPECT_NE(body("stats", "new").find("\"n\":10"), std::string::npos) << body("stats", "new");
    ASSERT_EQ(reported.size(), 2u);  // each document once, in its last version
    for (const auto& d : reported) {
        auto stored = store_->find_one("stats", d.key);
        ASSERT_TRUE(stored && *stored);
        EXPECT_EQ((*stored)->etag, d.etag);
    }
    {
        auto txn = store_->begin();
        ASSERT_TRUE(txn);
        ASSERT_TRUE((*txn)->update_one("stats", "h", obj(R"({"$inc":{"n":100}})"), false));
        // dropped without commit: nothing of it stays
    }
    EXPECT_NE(body("stats", "h").find("\"n\":15"), std::string::npos) << body("stats", "h");
}

// transaction::update (a projector handler's write: nothing returned, so a backend may keep
// the document parsed until commit) follows update_one's rules exactly: the same sequence
// of writes through either gives the same bodies and ETags, reads in between see every
// earlier write, a refused update changes nothing, and a deleted document starts afresh.
TEST_P(docs_contract, update_without_a_result_stores_what_update_one_would) {
    const std::vector<std::pair<const char*, bool>> writes = {
        {R"({"$set":{"n":10,"_ts":5}})", true},  {R"({"$inc":{"n":1}})", false},
        {R"({"$inc":{"n":"bad"}})", false},      {R"({"$inc":{"n":2},"$set":{"h":"a"}})", false},
        {R"({"$set":{"a":1},"plain":2})", true}, {R"({"$unset":{"h":""}})", false},
        {R"({"$setOnInsert":{"x":1}})", true},   {R"({"$inc":{"n":3}})", false}};
    std::vector<document> reported;
    store_->add_commit_listener([&](const std::vector<document>& docs) {
        reported.insert(reported.end(), docs.begin(), docs.end());
    });
    {
        auto txn = store_->begin();
        ASSERT_TRUE(txn);
        for (auto [w, upsert] : writes) {
            auto one = (*txn)->update_one("one", "k", obj(w), upsert);
            auto other = (*txn)->update("two", "k", obj(w), upsert);
            EXPECT_EQ(bool(one), bool(other)) << w;
            if (!one && !other) {
                EXPECT_EQ(one.error().code, other.error().code) << w;
            }
            auto a = (*txn)->find_one("one", "k");
            auto b = (*txn)->find_one("two", "k");
            ASSERT_TRUE(a && *a && b && *b) << w;
            EXPECT_EQ((*a)->body, (*b)->body) << w;
            EXPECT_EQ((*a)->etag, (*b)->etag) << w;
        }
        // updated again after a read served the serialized copy
        ASSERT_TRUE((*txn)->update("two", "k", obj(R"({"$inc":{"n":100}})"), false));
        ASSERT_TRUE((*txn)->update_one("one", "k", obj(R"({"$inc":{"n":100}})"), false));
        // without upsert, a document nobody wrote is not found, and nothing is added
        auto missing = (*txn)->update("two", "absent", obj(R"({"$inc":{"n":1}})"), false);
        ASSERT_FALSE(missing);
        EXPECT_EQ(missing.error().code, errc::not_found);
        auto bad_key = (*txn)->update("c", "", obj(R"({"$inc":{"n":1}})"), true);
        EXPECT_FALSE(bad_key);
        ASSERT_TRUE((*txn)->commit());
    }
    auto a = store_->find_one("one", "k");
    auto b = store_->find_one("two", "k");
    ASSERT_TRUE(a && *a && b && *b);
    EXPECT_EQ((*a)->body, (*b)->body);
    EXPECT_EQ((*a)->etag, (*b)->etag);
    EXPECT_NE((*b)->body.find("\"n\":116"), std::string::npos) << (*b)->body;
    EXPECT_FALSE(*store_->find_one("two", "absent"));
    ASSERT_EQ(reported.size(), 2u);  // each document once, with its stored ETag
    for (const auto& d : reported) {
        auto stored = store_->find_one(d.collection, d.key);
        ASSERT_TRUE(stored && *stored);
        EXPECT_EQ((*stored)->etag, d.etag);
        EXPECT_EQ((*stored)->body, d.body);
    }
    // deleted in the transaction, then updated: a new document, with nothing of the old
    {
        auto txn = store_->begin();
        ASSERT_TRUE(txn);
        auto deleted = (*txn)->delete_one("two", "k");
        if (!deleted) GTEST_SKIP() << "this backend's transactions do not delete";
        ASSERT_TRUE((*txn)->update("two", "k", obj(R"({"$inc":{"m":1}})"), true));
        ASSERT_TRUE((*txn)->commit());
    }
    auto fresh = store_->find_one("two", "k");
    ASSERT_TRUE(fresh && *fresh);
    EXPECT_EQ((*fresh)->body.find("\"n\""), std::string::npos) << (*fresh)->body;
    EXPECT_NE((*fresh)->body.find("\"m\":1"), std::string::npos) << (*fresh)->body;
}

TEST_P(docs_contract, commit_listeners_receive_the_written_documents) {
    std::vector<document> seen;
    store_->add_commit_listener([&](const std::vector<document>& docs) {
        seen.insert(seen.end(), docs.begin(), docs.end());
    });
    auto d = update("c", "k", R"({"$set":{"a":1}})");
    ASSERT_TRUE(d);
    ASSERT_EQ(seen.size(), 1u);
    EXPECT_EQ(seen[0].key, "k");
    EXPECT_EQ(seen[0].etag, d->etag);
}

TEST_P(docs_contract, find_filters_by_literal_equality_and_sorts_newest_first) {
    ASSERT_TRUE(store_->declare_index("p", "status"));
    ASSERT_TRUE(update("p", "a", R"({"$set":{"status":"alive","pid":7,"ok":true,"_ts":10}})"));
    ASSERT_TRUE(update("p", "b", R"({"$set":{"status":"stale","pid":8,"ok":false,"_ts":30}})"));
    ASSERT_TRUE(update("p", "c", R"({"$set":{"status":"alive","pid":"7","_ts":20}})"));
    ASSERT_TRUE(update("p", "d", R"({"$set":{"status":"alive","pid":7.5,"_ts":20}})"));
    ASSERT_TRUE(update("q", "x", R"({"$set":{"status":"alive","_ts":99}})"));

    auto keys = [&](find_query q) {
        q.collection = "p";
        auto r = store_->find(q);
        EXPECT_TRUE(r) << (r ? "" : r.error().message);
        std::string out;
        if (r)
            for (auto& d : *r) out += d.key;
        return out;
    };
    EXPECT_EQ(keys({}), "bcda");
    EXPECT_EQ(keys({.equals = {{"status", "alive"}}}), "cda");
    EXPECT_EQ(keys({.equals = {{"pid", "7"}}}), "ca");
    EXPECT_EQ(keys({.equals = {{"pid", "7.5"}}}), "d");
    EXPECT_EQ(keys({.equals = {{"ok", "true"}}}), "a");
    EXPECT_EQ(keys({.equals = {{"status", "alive"}, {"pid", "7"}}}), "ca");
    EXPECT_EQ(keys({.equals = {{"nosuchfield", "x"}}}), "");
    EXPECT_EQ(keys({.equals = {{"status", "{\"$ne\":\"x\"}"}}}), "");
    EXPECT_EQ(keys({.offset = 1, .limit = 2}), "cd");
    EXPECT_EQ(keys({.offset = 10}), "");
}

// create_one writes a new document and refuses one that exists, including one another
// transaction created after this one started: a projector that evaluated its batch while a
// document was absent must not overwrite what another projector created meanwhile.
TEST_P(docs_contract, create_one_refuses_a_document_that_exists_by_the_time_of_the_write) {
    {
        auto txn = store_->begin();
        ASSERT_TRUE(txn);
        ASSERT_TRUE((*txn)->create_one("c", "new", obj(R"({"n":1})")));
        ASSERT_TRUE((*txn)->commit());
    }
    EXPECT_NE(body("c", "new").find("\"n\":1"), std::string::npos);
    {
        auto txn = store_->begin();
        ASSERT_TRUE(txn);
        auto again = (*txn)->create_one("c", "new", obj(R"({"n":2})"));
        ASSERT_FALSE(again);
        EXPECT_EQ(again.error().code, errc::conflict);
    }
    EXPECT_NE(body("c", "new").find("\"n\":1"), std::string::npos);

    // A transaction that creates a document while another is still open: the second one's
    // create (which waits for the first where writers run at once) is refused.
    auto first = store_->begin();
    ASSERT_TRUE(first);
    ASSERT_TRUE((*first)->create_one("c", "race", obj(R"({"by":"first"})")));
    std::optional<status> second;
    std::thread t([&] {
        auto txn = store_->begin();
        if (!txn) {
            second = std::unexpected(txn.error());
            return;
        }
        second = (*txn)->create_one("c", "race", obj(R"({"by":"second"})"));
        if (*second) second = (*txn)->commit();
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    ASSERT_TRUE((*first)->commit());
    t.join();
    ASSERT_TRUE(second.has_value());
    ASSERT_FALSE(*second) << "the second create overwrote the first";
    EXPECT_EQ(second->error().code, errc::conflict);
    EXPECT_NE(body("c", "race").find("first"), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(backends, docs_contract, testing::ValuesIn(test::contract_backends()),
                         test::backend_name);

}  // namespace
}  // namespace prom
