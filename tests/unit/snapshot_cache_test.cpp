// The snapshot cache never serves a body older than the last commit it was told about,
// even when a load races with that commit.
#include "http/snapshot_cache.hpp"

#include <gtest/gtest.h>

#include <functional>

#include "support/forwarding_store.hpp"

namespace prom::http {
namespace {

// A store whose find_one runs `during_read` after reading, before returning: the moment
// a concurrent commit would land.
class racing_store final : public test::forwarding_store {
  public:
    using forwarding_store::forwarding_store;
    std::function<void()> during_read;
    int reads = 0;

    result<std::optional<document>> find_one(std::string_view collection,
                                             std::string_view key) override {
        auto r = inner_.find_one(collection, key);
        ++reads;
        if (during_read) std::exchange(during_read, nullptr)();
        return r;
    }
};

class snapshot_cache_test : public ::testing::Test {
  protected:
    void SetUp() override {
        auto s = open_store("memory:");
        ASSERT_TRUE(s);
        inner_ = std::move(*s);
        racing_ = std::make_unique<racing_store>(*inner_);
        cache_ = std::make_unique<snapshot_cache>(*racing_, snapshot_cache_options{});
        inner_->add_commit_listener(
            [this](const std::vector<document>& docs) { cache_->on_commit(docs); });
    }

    document write(std::string_view key, int v) {
        auto txn = inner_->begin();
        EXPECT_TRUE(txn);
        auto d = (*txn)->update_one("processes", key, json::object{{"v", v}}, true);
        EXPECT_TRUE(d);
        EXPECT_TRUE((*txn)->commit());
        return *d;
    }

    std::unique_ptr<store> inner_;
    std::unique_ptr<racing_store> racing_;
    std::unique_ptr<snapshot_cache> cache_;
};

TEST_F(snapshot_cache_test, a_hit_needs_no_read_and_a_commit_drops_the_entry) {
    auto d1 = write("k", 1);
    EXPECT_FALSE(cache_->lookup("processes", "k"));
    auto loaded = cache_->load("processes", "k");
    ASSERT_TRUE(loaded && *loaded);
    EXPECT_EQ((*loaded)->etag, d1.etag);
    auto hit = cache_->lookup("processes", "k");
    ASSERT_TRUE(hit);
    EXPECT_EQ(hit->body, d1.body);
    EXPECT_EQ(racing_->reads, 1);
    write("k", 2);
    EXPECT_FALSE(cache_->lookup("processes", "k"));  // dropped before commit() returned
}

TEST_F(snapshot_cache_test, a_load_that_raced_with_a_commit_does_not_put_the_old_body_back) {
    auto d1 = write("k", 1);
    document d2;
    racing_->during_read = [&] { d2 = write("k", 2); };
    auto loaded = cache_->load("processes", "k");
    ASSERT_TRUE(loaded && *loaded);
    EXPECT_EQ((*loaded)->etag, d1.etag);  // what it read, before the commit
    // …but it was not cached: the next lookup misses and the next load reads the new body.
    EXPECT_FALSE(cache_->lookup("processes", "k"));
    auto again = cache_->load("processes", "k");
    ASSERT_TRUE(again && *again);
    EXPECT_EQ((*again)->etag, d2.etag);
    EXPECT_NE(d1.etag, d2.etag);
}

TEST_F(snapshot_cache_test, entries_expire_after_the_ttl) {
    cache_ = std::make_unique<snapshot_cache>(
        *racing_, snapshot_cache_options{.ttl = std::chrono::milliseconds(50)});
    write("k", 1);
    ASSERT_TRUE(cache_->load("processes", "k"));
    auto now = std::chrono::steady_clock::now();
    EXPECT_TRUE(cache_->lookup("processes", "k", now));
    EXPECT_FALSE(cache_->lookup("processes", "k", now + std::chrono::milliseconds(60)));
}

TEST_F(snapshot_cache_test, unknown_keys_load_as_null_and_collections_do_not_mix) {
    write("k", 1);
    auto none = cache_->load("host_stats", "k");
    ASSERT_TRUE(none);
    EXPECT_FALSE(*none);
    EXPECT_FALSE(cache_->lookup("host_stats", "k"));
}

// Entries are bounded in bytes too: a user-defined projector can write documents of
// megabytes, and 100,000 of them would not fit in memory.
// cache_entries is a bound on the whole cache, not on each of its shards.
TEST_F(snapshot_cache_test, the_number_of_entries_is_bounded_by_cache_entries) {
    for (std::size_t max : {std::size_t{1}, std::size_t{20}, std::size_t{64}}) {
        cache_ =
            std::make_unique<snapshot_cache>(*racing_, snapshot_cache_options{.max_entries = max});
        for (int i = 0; i < 300; ++i) {
            write("k" + std::to_string(i), i);
            ASSERT_TRUE(cache_->load("processes", "k" + std::to_string(i)));
        }
        EXPECT_LE(cache_->size(), max) << max;
    }
}

TEST_F(snapshot_cache_test, memory_is_bounded_in_bytes_and_a_huge_document_is_not_kept) {
    cache_ = std::make_unique<snapshot_cache>(
        *racing_, snapshot_cache_options{.max_bytes = std::size_t{16} << 20});  // 1 MiB a shard
    const std::string half_mib(std::size_t{512} * 1024, 'x');
    for (int i = 0; i < 200; ++i) {
        auto txn = inner_->begin();
        ASSERT_TRUE(txn);
        ASSERT_TRUE((*txn)->update_one("big", "k" + std::to_string(i),
                                       json::object{{"s", half_mib}}, true));
        ASSERT_TRUE((*txn)->commit());
        auto loaded = cache_->load("big", "k" + std::to_string(i));
        ASSERT_TRUE(loaded && *loaded);
        EXPECT_GT((*loaded)->body.size(), half_mib.size());
    }
    EXPECT_LE(cache_->bytes(), std::size_t{16} << 20);
    EXPECT_GT(cache_->size(), 0u);   // what fits is kept
    EXPECT_LT(cache_->size(), 33u);  // at most two half-MiB entries a shard
    EXPECT_TRUE(cache_->lookup("big", "k199"));

    // Larger than a shard's share: served, never kept.
    const std::string two_mib(2 << 20, 'y');
    auto txn = inner_->begin();
    ASSERT_TRUE(txn);
    ASSERT_TRUE((*txn)->update_one("big", "huge", json::object{{"s", two_mib}}, true));
    ASSERT_TRUE((*txn)->commit());
    auto huge = cache_->load("big", "huge");
    ASSERT_TRUE(huge && *huge);
    EXPECT_GT((*huge)->body.size(), two_mib.size());
    EXPECT_FALSE(cache_->lookup("big", "huge"));
    EXPECT_LE(cache_->bytes(), std::size_t{16} << 20);

    // Dropping entries gives their bytes back.
    for (int i = 0; i < 200; ++i) {
        auto t = inner_->begin();
        ASSERT_TRUE(t);
        ASSERT_TRUE((*t)->update_one("big", "k" + std::to_string(i), json::object{{"s", 1}}, true));
        ASSERT_TRUE((*t)->commit());
    }
    EXPECT_EQ(cache_->size(), 0u);
    EXPECT_EQ(cache_->bytes(), 0u);
}

}  // namespace
}  // namespace prom::http
