// A page of scan, find or changes is bounded in bytes as well as in rows (store.hpp,
// default_max_page_bytes): past its bound a read fails with errc::too_large instead of holding
// every row, one row always fits, and the *_fitting helpers read again with fewer rows so that
// paging through a topic or a collection still reaches its end. Every backend alike.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "bus/consumer_state.hpp"
#include "support/test_support.hpp"

namespace prom {
namespace {

// Each event's payload and each document's body is a little over this many bytes.
constexpr std::size_t row_bytes = 10'000;
// Two rows fit, three do not.
constexpr std::size_t bound = 25'000;

class page_bytes_contract : public testing::TestWithParam<test::backend> {
  protected:
    void SetUp() override {
        store_ = test::open_or_die(GetParam().fresh_url(dir_), {.durable = false});
        ASSERT_NE(store_, nullptr);
    }

    void append_big_events(int n) {
        std::vector<event_input> batch;
        for (int i = 0; i < n; ++i) {
            event_input in;
            in.topic = "t";
            in.key = "k" + std::to_string(i);
            in.payload = json::object{{"i", i}, {"blob", std::string(row_bytes, 'x')}};
            batch.push_back(std::move(in));
        }
        ASSERT_TRUE(store_->append(std::move(batch)));
    }

    void put_big_documents(int n) {
        for (int i = 0; i < n; ++i) {
            auto txn = store_->begin();
            ASSERT_TRUE(txn);
            json::object set{{"blob", std::string(row_bytes, 'x')}, {"_ts", 1000 + i}};
            auto r = (*txn)->update_one("c", "d" + std::to_string(i),
                                        json::object{{"$set", std::move(set)}}, true);
            ASSERT_TRUE(r) << r.error().message;
            ASSERT_TRUE((*txn)->commit());
        }
    }

    test::temp_dir dir_;
    std::unique_ptr<store> store_;
};

TEST_P(page_bytes_contract, a_scan_past_its_bound_fails_and_one_event_always_fits) {
    append_big_events(6);
    auto over = store_->scan({.topic = "t", .limit = 6, .max_bytes = bound});
    ASSERT_FALSE(over);
    EXPECT_EQ(over.error().code, errc::too_large);
    EXPECT_NE(over.error().message.find("events of topic 't'"), std::string::npos)
        << over.error().message;
    EXPECT_NE(over.error().message.find("smaller limit"), std::string::npos);
    // Without a limit too: the bound holds whatever the row count.
    auto unlimited = store_->scan({.topic = "t", .max_bytes = bound});
    ASSERT_FALSE(unlimited);
    EXPECT_EQ(unlimited.error().code, errc::too_large);

    auto two = store_->scan({.topic = "t", .limit = 2, .max_bytes = bound});
    ASSERT_TRUE(two) << two.error().message;
    EXPECT_EQ(two->size(), 2u);
    auto one = store_->scan({.topic = "t", .from_seq = seq_t{4}, .limit = 1, .max_bytes = 100});
    ASSERT_TRUE(one) << one.error().message;  // a single event larger than the bound
    ASSERT_EQ(one->size(), 1u);
    EXPECT_EQ((*one)[0].seq, 4);
    // Never a page cut short: a second row past the bound fails the read, even where the
    // first alone passes it.
    auto cut = store_->scan({.topic = "t", .from_seq = seq_t{4}, .limit = 5, .max_bytes = 100});
    ASSERT_FALSE(cut);
    EXPECT_EQ(cut.error().code, errc::too_large);
    auto three = store_->scan({.topic = "t", .limit = 3, .max_bytes = bound});
    ASSERT_FALSE(three);
    EXPECT_EQ(three.error().code, errc::too_large);
    // The default bound is far above these six events.
    auto all = store_->scan({.topic = "t"});
    ASSERT_TRUE(all);
    EXPECT_EQ(all->size(), 6u);
}

TEST_P(page_bytes_contract, scan_fitting_halves_the_limit_and_paging_still_reaches_the_end) {
    append_big_events(6);
    scan_query q{.topic = "t", .limit = 8, .max_bytes = bound};
    auto page = scan_fitting(*store_, q);
    ASSERT_TRUE(page) << page.error().message;
    EXPECT_EQ(page->size(), 2u);
    EXPECT_EQ(q.limit, 2u);  // 8, then 4, then 2: what the page used

    std::vector<std::int64_t> seqs;
    scan_query all{.topic = "t", .limit = 8, .max_bytes = bound};
    for (;;) {
        auto p = scan_fitting(*store_, all);
        ASSERT_TRUE(p) << p.error().message;
        for (const auto& e : *p) seqs.push_back(e.seq.value);
        if (p->size() < *all.limit) break;
        all.from_seq = p->back().seq.next();
    }
    EXPECT_EQ(seqs, (std::vector<std::int64_t>{1, 2, 3, 4, 5, 6}));

    scan_query unlimited{.topic = "t", .max_bytes = bound};
    auto first = scan_fitting(*store_, unlimited);
    ASSERT_TRUE(first) << first.error().message;
    EXPECT_EQ(first->size(), 2u);
    ASSERT_TRUE(unlimited.limit);
    EXPECT_EQ(*unlimited.limit, 2u);
}

// The reads of time travel: one key's events in (ts, seq) order.
TEST_P(page_bytes_contract, a_key_read_by_time_is_bounded_and_fitting_pages_through_it) {
    std::vector<event_input> batch;
    for (int i = 0; i < 6; ++i) {
        event_input in;
        in.topic = "t";
        in.key = "k";
        in.ts = ts_ms{1000 + i};
        in.payload = json::object{{"i", i}, {"blob", std::string(row_bytes, 'x')}};
        batch.push_back(std::move(in));
    }
    ASSERT_TRUE(store_->append(std::move(batch)));
    auto over = store_->scan_key_by_time(
        {.topic = "t", .key = "k", .to_ts = ts_ms{5000}, .limit = 6, .max_bytes = bound});
    ASSERT_FALSE(over);
    EXPECT_EQ(over.error().code, errc::too_large);

    std::vector<std::int64_t> seqs;
    key_time_query q{
        .topic = "t", .key = "k", .to_ts = ts_ms{5000}, .limit = 8, .max_bytes = bound};
    for (;;) {
        auto page = scan_key_by_time_fitting(*store_, q);
        ASSERT_TRUE(page) << page.error().message;
        for (const auto& e : *page) seqs.push_back(e.seq.value);
        if (page->size() < *q.limit) break;
        q.after = std::pair{page->back().ts, page->back().seq};
    }
    EXPECT_EQ(*q.limit, 2u);
    EXPECT_EQ(seqs, (std::vector<std::int64_t>{1, 2, 3, 4, 5, 6}));
}

TEST_P(page_bytes_contract, find_past_its_bound_fails_and_find_fitting_pages_through_it) {
    put_big_documents(6);
    auto over = store_->find({.collection = "c", .limit = 6, .max_bytes = bound});
    ASSERT_FALSE(over);
    EXPECT_EQ(over.error().code, errc::too_large);
    EXPECT_NE(over.error().message.find("documents of collection 'c'"), std::string::npos)
        << over.error().message;
    auto one = store_->find({.collection = "c", .offset = 3, .limit = 1, .max_bytes = 100});
    ASSERT_TRUE(one) << one.error().message;
    EXPECT_EQ(one->size(), 1u);
    auto cut = store_->find({.collection = "c", .offset = 3, .limit = 3, .max_bytes = 100});
    ASSERT_FALSE(cut);
    EXPECT_EQ(cut.error().code, errc::too_large);
    // An offset does not count against the bound: only the page's own rows do.
    auto offset = store_->find({.collection = "c", .offset = 4, .limit = 2, .max_bytes = bound});
    ASSERT_TRUE(offset) << offset.error().message;
    EXPECT_EQ(offset->size(), 2u);

    std::vector<std::string> keys;
    find_query q{.collection = "c", .limit = 8, .max_bytes = bound};
    for (;;) {
        auto page = find_fitting(*store_, q);
        ASSERT_TRUE(page) << page.error().message;
        for (const auto& d : *page) keys.push_back(d.key);
        if (page->size() < q.limit) break;
        q.offset += page->size();
    }
    EXPECT_EQ(q.limit, 2u);
    // Newest first (ts descending).
    EXPECT_EQ(keys, (std::vector<std::string>{"d5", "d4", "d3", "d2", "d1", "d0"}));
}

TEST_P(page_bytes_contract, changes_past_their_bound_fail_and_changes_fitting_pages_through_them) {
    put_big_documents(6);
    auto over = store_->changes({.collection = "c", .limit = 6, .max_bytes = bound});
    ASSERT_FALSE(over);
    EXPECT_EQ(over.error().code, errc::too_large);
    EXPECT_NE(over.error().message.find("changes of collection 'c'"), std::string::npos)
        << over.error().message;

    std::vector<std::int64_t> seqs;
    change_query q{.collection = "c", .limit = 8, .max_bytes = bound};
    for (;;) {
        auto page = changes_fitting(*store_, q);
        ASSERT_TRUE(page) << page.error().message;
        for (const auto& c : *page) seqs.push_back(c.seq.value);
        if (page->size() < q.limit) break;
        q.after = page->back().seq;
    }
    EXPECT_EQ(seqs, (std::vector<std::int64_t>{1, 2, 3, 4, 5, 6}));
}

// A consumer (projectors, WebSocket delivery, subscriptions) takes smaller batches where its
// events are large, and still delivers every one in order.
TEST_P(page_bytes_contract, a_consumer_takes_smaller_batches_of_large_events) {
    append_big_events(6);
    bus_internal::consumer_state c(*store_, {.topic = "t",
                                             .group = "g",
                                             .batch_size = 100,
                                             .ephemeral = true,
                                             .max_batch_bytes = bound});
    std::vector<std::int64_t> seqs;
    for (int step = 0; step < 20 && seqs.size() < 6; ++step) {
        auto s = c.next();
        ASSERT_EQ(s.what, bus_internal::consumer_step::kind::deliver);
        EXPECT_LE(s.events.size(), 2u);
        for (const auto& e : s.events) seqs.push_back(e.seq.value);
        c.advance(s.events.back().seq, s.events.back().seq);
    }
    EXPECT_EQ(seqs, (std::vector<std::int64_t>{1, 2, 3, 4, 5, 6}));
}

INSTANTIATE_TEST_SUITE_P(backends, page_bytes_contract,
                         testing::ValuesIn(test::contract_backends()), test::backend_name);

}  // namespace
}  // namespace prom
