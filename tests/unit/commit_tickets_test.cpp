// store::wait_for_commit_listeners through the backends' shared change_notifier: it waits for
// the commits that began before it (their documents visible, their listeners not run yet),
// not for those that began after (storage/common.hpp, commit_ticket).
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <optional>
#include <thread>

#include "storage/common.hpp"

namespace prom::storage {
namespace {

using namespace std::chrono_literals;

TEST(commit_tickets, without_a_commit_under_way_nothing_is_waited_for) {
    change_notifier n;
    n.wait_for_commit_listeners();
    { change_notifier::commit_ticket done(n); }
    n.wait_for_commit_listeners();
}

TEST(commit_tickets, a_commit_that_began_before_holds_the_wait_until_its_listeners_ran) {
    change_notifier n;
    std::optional<change_notifier::commit_ticket> visible_not_listened;
    visible_not_listened.emplace(n);
    std::atomic<bool> returned = false;
    std::thread reader([&] {
        n.wait_for_commit_listeners();
        returned = true;
    });
    std::this_thread::sleep_for(50ms);
    EXPECT_FALSE(returned) << "answered while the commit's listeners had not run";
    // A commit that begins and ends meanwhile releases nothing of the earlier one.
    { change_notifier::commit_ticket later(n); }
    std::this_thread::sleep_for(20ms);
    EXPECT_FALSE(returned);
    visible_not_listened.reset();
    reader.join();
    EXPECT_TRUE(returned);
}

TEST(commit_tickets, a_commit_that_begins_after_the_wait_does_not_hold_it) {
    change_notifier n;
    std::optional<change_notifier::commit_ticket> before;
    before.emplace(n);
    std::atomic<bool> returned = false;
    std::thread reader([&] {
        n.wait_for_commit_listeners();
        returned = true;
    });
    std::this_thread::sleep_for(50ms);  // the reader waits for `before` now
    change_notifier::commit_ticket after(n);
    before.reset();
    reader.join();  // returns with `after` still open
    EXPECT_TRUE(returned);
}

}  // namespace
}  // namespace prom::storage
