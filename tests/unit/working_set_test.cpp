// A transaction's documents (storage/working_set.hpp): updates build on each other, the
// stored copy is read once per key, a refused update changes nothing, and what the commit
// gets is serialized with the ETag of its body.
#include "storage/working_set.hpp"

#include <gtest/gtest.h>

#include "docs/update.hpp"
#include "storage/change_log.hpp"

namespace prom::storage {
namespace {

json::object obj(std::string_view text) { return parse_json(text)->get_object(); }

// A loader that answers with this stored document and counts how often it is asked.
working_set::loader stored_as(std::string collection, std::string key, std::string body,
                              int& loads) {
    return [=, &loads]() -> result<std::optional<document>> {
        ++loads;
        return std::optional<document>{docs::make_document(collection, key, obj(body))};
    };
}

TEST(working_set, updates_build_on_each_other_and_the_store_is_read_once_per_key) {
    working_set set;
    int loads = 0;
    auto stored = stored_as("stats", "h", R"({"_key":"h","_ts":1,"n":10})", loads);
    for (int i = 0; i < 100; ++i) {
        ASSERT_TRUE(set.update("stats", "h", obj(R"({"$inc":{"n":1}})"), false, stored));
    }
    EXPECT_EQ(loads, 1);
    const document* d = set.find("stats", "h");
    ASSERT_NE(d, nullptr);
    EXPECT_EQ(d->body, R"({"_key":"h","_ts":1,"n":110})");
    EXPECT_EQ(d->etag, etag_of(d->body));
    // after a read, updates go on from the serialized copy
    ASSERT_TRUE(set.update("stats", "h", obj(R"({"$inc":{"n":1}})"), false, stored));
    EXPECT_EQ(loads, 1);
    auto& all = set.documents();
    ASSERT_EQ(all.size(), 1u);
    EXPECT_EQ(all.begin()->second.body, R"({"_key":"h","_ts":1,"n":111})");
}

TEST(working_set, a_refused_update_leaves_the_document_as_it_was) {
    working_set set;
    auto none = []() -> result<std::optional<document>> { return std::optional<document>{}; };
    ASSERT_TRUE(set.update("c", "k", obj(R"({"$set":{"s":"x","_ts":2}})"), true, none));
    EXPECT_FALSE(set.update("c", "k", obj(R"({"$inc":{"s":1}})"), false, none));
    ASSERT_NE(set.find("c", "k"), nullptr);  // serialized now
    EXPECT_FALSE(set.update("c", "k", obj(R"({"$inc":{"s":1}})"), false, none));
    const document* d = set.find("c", "k");
    ASSERT_NE(d, nullptr);
    EXPECT_EQ(d->body, R"({"_key":"k","_ts":2,"s":"x"})");
    // no document and no upsert: not found, and the set holds nothing for the key
    auto missing = set.update("c", "other", obj(R"({"$inc":{"n":1}})"), false, none);
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error().code, errc::not_found);
    EXPECT_EQ(set.find("c", "other"), nullptr);
}

TEST(working_set, a_deleted_document_is_updated_as_a_new_one) {
    working_set set;
    int loads = 0;
    auto stored = stored_as("c", "k", R"({"_key":"k","_ts":1,"old":true})", loads);
    set.put(deleted_document("c", "k"));
    EXPECT_FALSE(set.update("c", "k", obj(R"({"$set":{"a":1}})"), false, stored));
    ASSERT_TRUE(set.update("c", "k", obj(R"({"$set":{"a":1,"_ts":3}})"), true, stored));
    EXPECT_EQ(loads, 0);  // the deletion is the transaction's view: the store is not asked
    EXPECT_EQ(set.documents().begin()->second.body, R"({"_key":"k","_ts":3,"a":1})");
}

// A field named by two operators is refused, whether the update names a few fields or more
// than are compared in place (docs/update.hpp keeps the first sixteen without a set).
TEST(working_set, a_field_named_by_two_operators_is_refused_in_small_and_large_updates) {
    auto none = []() -> result<std::optional<document>> { return std::optional<document>{}; };
    for (int fields : {2, 16, 17, 40}) {
        json::object set_fields, inc_fields;
        for (int i = 0; i < fields - 1; ++i) set_fields["f" + std::to_string(i)] = i;
        inc_fields["f" + std::to_string(fields - 2)] = 1;  // also in $set
        json::object both{{"$set", set_fields}, {"$inc", inc_fields}};
        working_set set;
        auto r = set.update("c", "k", both, true, none);
        ASSERT_FALSE(r) << fields;
        EXPECT_NE(r.error().message.find("appears in two operators"), std::string::npos)
            << r.error().message;
        EXPECT_EQ(set.find("c", "k"), nullptr);
        // without the duplicate, as many distinct fields are all applied
        inc_fields = json::object{{"n", 1}};
        json::object distinct{{"$set", set_fields}, {"$inc", inc_fields}};
        ASSERT_TRUE(set.update("c", "k", distinct, true, none)) << fields;
        auto body = parse_json(set.find("c", "k")->body)->get_object();
        EXPECT_EQ(body.size(), static_cast<std::size_t>(fields - 1 + 3)) << fields;  // _key _ts n
    }
}

// Enough documents that write_each serializes them on a second thread: each written once,
// with the same bodies, ETags and order as one by one; a write that fails stops the writes
// and leaves the set whole.
TEST(working_set, many_documents_are_written_as_they_would_be_one_by_one) {
    auto none = []() -> result<std::optional<document>> { return std::optional<document>{}; };
    auto fill = [&](working_set& set, bool serialize_each) {
        for (int i = 0; i < 500; ++i) {
            std::string coll = i % 2 ? "a" : "b", key = "k" + std::to_string(i);
            json::object doc{{"n", i}, {"name", "svc \"" + key + "\""}, {"_ts", 1000 + i}};
            ASSERT_TRUE(set.update(coll, key, doc, true, none));
            if (serialize_each) ASSERT_NE(set.find(coll, key), nullptr);
        }
        ASSERT_TRUE(
            set.update_one("a", "from-update-one", obj(R"({"$set":{"x":1,"_ts":5}})"), true, none));
    };
    working_set many, one_by_one;
    fill(many, false);
    fill(one_by_one, true);
    std::vector<document> written;
    ASSERT_TRUE(many.write_each([&](const document& d) -> status {
        written.push_back(d);
        return {};
    }));
    const auto& want = one_by_one.documents();
    ASSERT_EQ(written.size(), 501u);
    ASSERT_EQ(written.size(), want.size());
    auto w = want.begin();
    for (const auto& d : written) {  // the same documents in the same (key) order
        EXPECT_EQ(std::pair(d.collection, d.key), w->first);
        EXPECT_EQ(d.body, w->second.body);
        EXPECT_EQ(d.etag, etag_of(d.body));
        EXPECT_EQ(d.ts, w->second.ts);
        ++w;
    }
    EXPECT_EQ(many.documents().size(), 501u);  // all serialized, held as documents() holds
    EXPECT_EQ(many.documents().at({"a", "k1"}).body,
              R"({"_key":"k1","_ts":1001,"n":1,"name":"svc \"k1\""})");

    working_set failing;
    fill(failing, false);
    int calls = 0;
    auto r = failing.write_each([&](const document&) -> status {
        if (++calls == 100) return fail(errc::io_error, "disk full");
        return {};
    });
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().message, "disk full");
    EXPECT_EQ(calls, 100);
    const auto& after = failing.documents();
    ASSERT_EQ(after.size(), want.size());
    for (auto a = after.begin(), b = want.begin(); a != after.end(); ++a, ++b) {
        EXPECT_EQ(a->second.body, b->second.body);
    }
}
}  // namespace
}  // namespace prom::storage
