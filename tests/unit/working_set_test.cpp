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

}  // namespace
}  // namespace prom::storage
