// A node that freezes with a transaction open (a paused VM, SIGSTOP) must not hold its row
// locks for ever: PostgreSQL ends a session idle in a transaction for longer than
// store_options::idle_transaction_timeout, the other nodes' writers go on, and the frozen
// transaction fails with `unavailable` when it wakes, leaving its store usable.
#include <gtest/gtest.h>

#include <chrono>

#include "support/test_support.hpp"

namespace prom {
namespace {

using namespace std::chrono_literals;

class pg_idle_transaction : public testing::TestWithParam<test::backend> {};

TEST_P(pg_idle_transaction, a_transaction_left_open_releases_its_locks_after_the_timeout) {
    test::temp_dir dir;
    const std::string url = GetParam().fresh_url(dir);
    auto frozen = test::open_or_die(url, {.durable = false, .idle_transaction_timeout = 1s});
    auto other = test::open_or_die(url, {.durable = false, .busy_timeout = 8s});

    auto held = frozen->begin();
    ASSERT_TRUE(held) << held.error().message;
    ASSERT_TRUE((*held)->set_cursor("t", "g", seq_t{1}));  // locks the cursor's row

    // The other node's write waits for the lock, then gets it once the server has ended the
    // idle session: well before its own lock timeout.
    auto started = std::chrono::steady_clock::now();
    auto tx = other->begin();
    ASSERT_TRUE(tx) << tx.error().message;
    auto wrote = (*tx)->set_cursor("t", "g", seq_t{2});
    ASSERT_TRUE(wrote) << wrote.error().message;
    ASSERT_TRUE((*tx)->commit());
    auto waited = std::chrono::steady_clock::now() - started;
    EXPECT_GE(waited, 500ms);
    EXPECT_LT(waited, 6s);

    // The frozen transaction wakes to a closed session: its commit fails as `unavailable`
    // (retryable), nothing of it was applied, and the store works on a fresh connection.
    auto committed = (*held)->commit();
    ASSERT_FALSE(committed);
    EXPECT_EQ(committed.error().code, errc::unavailable) << committed.error().message;
    held->reset();
    auto again = frozen->begin();
    ASSERT_TRUE(again) << again.error().message;
    auto seen = (*again)->cursor("t", "g");
    ASSERT_TRUE(seen) << seen.error().message;
    ASSERT_TRUE(seen->has_value());
    EXPECT_EQ(**seen, seq_t{2});
}

// Without PROM_TEST_PG_URL (outside scripts/test.sh) there is no PostgreSQL backend.
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(pg_idle_transaction);
INSTANTIATE_TEST_SUITE_P(backends, pg_idle_transaction,
                         testing::ValuesIn(test::postgres_backends()), test::backend_name);

}  // namespace
}  // namespace prom
