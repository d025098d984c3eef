// A fresh store per test and the small helpers the snapshot and time-travel contract
// suites share.
#pragma once

#include <gtest/gtest.h>

#include "prom/store.hpp"
#include "support/test_support.hpp"

namespace prom::test {

class snapshot_fixture : public testing::TestWithParam<test::backend> {
  protected:
    void SetUp() override {
        store_ = test::open_or_die(GetParam().fresh_url(dir_), {.durable = false});
        ASSERT_NE(store_, nullptr);
    }

    append_result append_one(std::string topic, std::string key, std::int64_t ts,
                             json::value payload, std::optional<std::string> id = {}) {
        std::vector<event_input> batch(1);
        batch[0].topic = std::move(topic);
        batch[0].key = std::move(key);
        batch[0].ts = ts_ms{ts};
        batch[0].payload = std::move(payload);
        batch[0].id = std::move(id);
        auto r = store_->append(std::move(batch));
        EXPECT_TRUE(r) << (r ? "" : r.error().message);
        return r ? r->front() : append_result{};
    }

    std::optional<state_snapshot> snap_at(std::string_view key, std::string_view reducer,
                                          std::int64_t t) {
        auto s = store_->snapshot_at_or_before("t", key, reducer, ts_ms{t});
        EXPECT_TRUE(s) << (s ? "" : s.error().message);
        return s ? *s : std::nullopt;
    }

    // A snapshot written as {ts, seq, count, state} with bare integers, for short tables.
    struct snap_row {
        std::int64_t ts, seq, count;
        std::string state;
    };
    std::size_t put(std::string_view key, std::string_view reducer, std::int64_t known,
                    const std::vector<snap_row>& rows) {
        std::vector<state_snapshot> snaps;
        for (const auto& r : rows) snaps.push_back({ts_ms{r.ts}, seq_t{r.seq}, r.count, r.state});
        auto n = store_->put_snapshots("t", key, reducer, seq_t{known}, snaps);
        EXPECT_TRUE(n) << (n ? "" : n.error().message);
        return n ? *n : 0;
    }

    test::temp_dir dir_;
    std::unique_ptr<store> store_;
};

}  // namespace prom::test
