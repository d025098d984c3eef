// consistency::cursor_waiters over the memory store: woken by the commit that moves a
// cursor, timed out with the cursor it last read, cancelled, answered at shutdown, all without
// a thread per waiter.
#include "consistency/cursor_waiters.hpp"

#include <gtest/gtest.h>

#include <future>
#include <mutex>

#include "support/forwarding_store.hpp"
#include "support/test_support.hpp"

namespace prom::consistency {
namespace {

using namespace std::chrono_literals;
using kind = cursor_wait_outcome::kind;

struct cursor_waiting : testing::Test {
    std::unique_ptr<store> s = test::open_or_die("memory:");
    cursor_waiters waiters{*s};

    std::future<cursor_wait_outcome> wait(std::int64_t seq, std::chrono::milliseconds within,
                                          std::uint64_t* id = nullptr) {
        auto p = std::make_shared<std::promise<cursor_wait_outcome>>();
        auto f = p->get_future();
        auto got =
            waiters.wait({{"proj", "t", "g", seq_t{seq}}}, cursor_waiters::clock::now() + within,
                         [p](cursor_wait_outcome o) { p->set_value(std::move(o)); });
        if (id) *id = got;
        return f;
    }
};

TEST_F(cursor_waiting, a_cursor_that_moves_past_the_seq_wakes_the_waiter) {
    auto f = wait(3, 10s);
    EXPECT_EQ(f.wait_for(50ms), std::future_status::timeout);
    ASSERT_TRUE(s->set_cursor("t", "g", seq_t{2}));
    EXPECT_EQ(f.wait_for(50ms), std::future_status::timeout);
    EXPECT_EQ(waiters.active(), 1u);
    ASSERT_TRUE(s->set_cursor("t", "g", seq_t{3}));
    ASSERT_EQ(f.wait_for(5s), std::future_status::ready);
    EXPECT_EQ(f.get().what, kind::caught_up);
    EXPECT_EQ(waiters.active(), 0u);
}

TEST_F(cursor_waiting, a_waiter_already_met_is_answered_at_once_once_the_cursor_was_read) {
    ASSERT_TRUE(s->set_cursor("t", "g", seq_t{5}));
    auto first = wait(5, 10s);
    ASSERT_EQ(first.wait_for(5s), std::future_status::ready);
    EXPECT_EQ(first.get().what, kind::caught_up);
    std::uint64_t id = 1;
    auto second = wait(4, 10s, &id);  // the cursor is cached now: no store read, no id
    ASSERT_EQ(second.wait_for(0ms), std::future_status::ready);
    EXPECT_EQ(id, 0u);
}

// A cursor the store cannot read (the database away) times out saying so, not with a cursor
// of 0 it never read (found from outside: "applied up to seq 0" during an outage).
TEST(cursor_waiting_unreadable, a_failed_cursor_read_times_out_as_unreadable) {
    struct away final : test::forwarding_store {
        using test::forwarding_store::forwarding_store;
        result<std::optional<seq_t>> cursor(std::string_view, std::string_view) override {
            return fail(errc::unavailable, "the database is unreachable");
        }
    };
    auto inner = test::open_or_die("memory:");
    away s(*inner);
    cursor_waiters waiters{s};
    std::promise<cursor_wait_outcome> p;
    auto f = p.get_future();
    waiters.wait({{"proj", "t", "g", seq_t{1}}}, cursor_waiters::clock::now() + 100ms,
                 [&p](cursor_wait_outcome o) { p.set_value(std::move(o)); });
    ASSERT_EQ(f.wait_for(5s), std::future_status::ready);
    auto o = f.get();
    EXPECT_EQ(o.what, kind::timed_out);
    ASSERT_TRUE(o.unreadable);
    EXPECT_NE(o.unreadable->find("unreachable"), std::string::npos);
}

TEST_F(cursor_waiting, a_deadline_answers_timed_out_with_the_cursor_last_read) {
    ASSERT_TRUE(s->set_cursor("t", "g", seq_t{1}));
    auto f = wait(9, 30ms);
    ASSERT_EQ(f.wait_for(5s), std::future_status::ready);
    auto o = f.get();
    EXPECT_EQ(o.what, kind::timed_out);
    ASSERT_TRUE(o.behind);
    EXPECT_EQ(o.behind->projector, "proj");
    EXPECT_EQ(o.behind->seq, 9);
    EXPECT_EQ(o.cursor, 1);
}

// cancel() is for a client gone; stop() (shutdown) answers the rest as at their deadline,
// so that each request still gets its answer.
TEST_F(cursor_waiting, cancel_answers_cancelled_and_stop_answers_as_at_the_deadline) {
    ASSERT_TRUE(s->set_cursor("t", "g", seq_t{2}));
    std::uint64_t id = 0;
    auto a = wait(9, 10s, &id);
    auto b = wait(9, 10s);
    auto met = wait(2, 10s);  // met by the cursor the watcher reads
    ASSERT_EQ(met.wait_for(5s), std::future_status::ready);
    ASSERT_NE(id, 0u);
    waiters.cancel(id);
    ASSERT_EQ(a.wait_for(0ms), std::future_status::ready);
    EXPECT_EQ(a.get().what, kind::cancelled);
    EXPECT_EQ(waiters.active(), 1u);
    waiters.stop();
    ASSERT_EQ(b.wait_for(0ms), std::future_status::ready);
    auto o = b.get();
    EXPECT_EQ(o.what, kind::timed_out);
    ASSERT_TRUE(o.behind);
    EXPECT_EQ(o.cursor, 2);
    auto late = wait(9, 10s);  // after stop: answered at once, the same way
    ASSERT_EQ(late.wait_for(0ms), std::future_status::ready);
    EXPECT_EQ(late.get().what, kind::timed_out);
    auto late_met = wait(1, 10s);
    ASSERT_EQ(late_met.wait_for(0ms), std::future_status::ready);
    EXPECT_EQ(late_met.get().what, kind::caught_up);
}

// The group resolver (a rebuild swapped in): the groups it names decide, all of them, not
// the group the condition was made with; a timeout names the group still behind.
TEST_F(cursor_waiting, the_groups_the_resolver_names_decide_a_condition_all_of_them) {
    std::mutex mu;
    std::vector<std::string> deciding{"g"};
    waiters.set_group_resolver([&](const cursor_condition& c, std::vector<std::string>& groups) {
        EXPECT_EQ(c.group, "g");
        std::lock_guard lock(mu);
        groups = deciding;
    });
    {
        std::lock_guard lock(mu);
        deciding = {"g", "g2"};  // a swap committing: both
    }
    ASSERT_TRUE(s->set_cursor("t", "g", seq_t{9}));
    auto both = wait(5, 10s);
    EXPECT_EQ(both.wait_for(100ms), std::future_status::timeout);  // g2 has not applied 5
    ASSERT_TRUE(s->set_cursor("t", "g2", seq_t{5}));
    ASSERT_EQ(both.wait_for(5s), std::future_status::ready);
    EXPECT_EQ(both.get().what, kind::caught_up);

    {
        std::lock_guard lock(mu);
        deciding = {"g2"};  // swapped in: the new group alone, though g is further on
    }
    auto after_swap = wait(7, 300ms);
    ASSERT_EQ(after_swap.wait_for(5s), std::future_status::ready);
    auto o = after_swap.get();
    EXPECT_EQ(o.what, kind::timed_out);
    ASSERT_TRUE(o.behind);
    EXPECT_EQ(o.behind->group, "g2");
    EXPECT_EQ(o.cursor, seq_t{5});
    auto met = wait(7, 10s);
    ASSERT_TRUE(s->set_cursor("t", "g2", seq_t{7}));
    ASSERT_EQ(met.wait_for(5s), std::future_status::ready);
    EXPECT_EQ(met.get().what, kind::caught_up);
}

}  // namespace
}  // namespace prom::consistency
