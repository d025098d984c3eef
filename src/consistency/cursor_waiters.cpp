#include "consistency/cursor_waiters.hpp"

#include <set>
#include <utility>

#include "core/thread_name.hpp"
#include "storage/common.hpp"

namespace prom::consistency {

cursor_waiters::cursor_waiters(store& s, std::chrono::milliseconds tick)
    : store_(s), tick_(tick), watcher_([this] { run(); }) {}

cursor_waiters::~cursor_waiters() { stop(); }

void cursor_waiters::set_group_resolver(group_resolver r) {
    prom::lock_guard lock(mu_);
    resolver_ = std::move(r);
}

void cursor_waiters::deciding_groups(const cursor_condition& c,
                                     std::vector<std::string>& groups) const {
    groups.clear();
    if (resolver_) resolver_(c, groups);
    if (groups.empty()) groups.push_back(c.group);
}

std::optional<cursor_wait_outcome> cursor_waiters::settled(const waiter& w,
                                                           clock::time_point now) const {
    std::vector<std::string> groups;
    for (const auto& c : w.conditions) {
        deciding_groups(c, groups);
        for (const auto& g : groups) {
            auto it = cursors_.find({c.topic, g});
            seq_t at = it == cursors_.end() ? seq_t{} : it->second;
            if (at >= c.seq) continue;
            if (now < w.deadline) return std::nullopt;
            cursor_condition behind = c;
            behind.group = g;
            cursor_wait_outcome out{cursor_wait_outcome::kind::timed_out, std::move(behind), at};
            if (auto bad = unreadable_.find({c.topic, g}); bad != unreadable_.end()) {
                out.unreadable = bad->second;
            }
            return out;
        }
    }
    return cursor_wait_outcome{cursor_wait_outcome::kind::caught_up, std::nullopt, seq_t{}};
}

std::uint64_t cursor_waiters::wait(std::vector<cursor_condition> conditions,
                                   clock::time_point deadline, cursor_wait_callback done) {
    std::optional<cursor_wait_outcome> now_outcome;
    std::uint64_t id = 0;
    {
        prom::lock_guard lock(mu_);
        if (stopping_) {
            // Shutting down: answered at once, as at its deadline (see stop()).
            now_outcome =
                settled(waiter{std::move(conditions), deadline, nullptr}, clock::time_point::max());
        } else {
            waiter w{std::move(conditions), deadline, std::exchange(done, nullptr)};
            // Only "caught up" is decided here: a timeout needs a cursor read after the
            // waiter arrived, or a stale cache could time out a request that is met.
            if (auto o = settled(w, clock::time_point::min());
                o && o->what == cursor_wait_outcome::kind::caught_up) {
                now_outcome = o;
                done = std::move(w.done);
                ++completed_;
            } else {
                id = next_id_++;
                pending_.emplace(id, std::move(w));
                fresh_waiters_ = true;
                idle_cv_.notify_one();
            }
        }
    }
    if (now_outcome) done(std::move(*now_outcome));
    return id;
}

void cursor_waiters::cancel(std::uint64_t id) {
    std::optional<waiter> w;
    {
        prom::lock_guard lock(mu_);
        auto it = pending_.find(id);
        if (it == pending_.end()) return;
        w = std::move(it->second);
        pending_.erase(it);
        ++completed_;
    }
    w->done(cursor_wait_outcome{cursor_wait_outcome::kind::cancelled, {}, seq_t{}});
}

void cursor_waiters::stop() {
    {
        prom::lock_guard lock(mu_);
        if (stopping_ && !watcher_.joinable()) return;
        stopping_ = true;
    }
    idle_cv_.notify_all();
    if (watcher_.joinable()) watcher_.join();
    // Every waiter left is answered as at its deadline, with the cursors last read (they
    // only move forward, so "caught up" is never wrong; "not caught up" names the cursor as
    // last seen): a shutdown answers the requests in flight (docs/http-api.md).
    std::vector<std::pair<waiter, cursor_wait_outcome>> left;
    {
        prom::lock_guard lock(mu_);
        for (auto& [id, w] : pending_) {
            auto outcome = *settled(w, clock::time_point::max());
            left.emplace_back(std::move(w), std::move(outcome));
        }
        completed_ += pending_.size();
        pending_.clear();
    }
    for (auto& [w, outcome] : left) w.done(std::move(outcome));
}

std::size_t cursor_waiters::active() const {
    prom::lock_guard lock(mu_);
    return pending_.size();
}

std::uint64_t cursor_waiters::completed() const {
    prom::lock_guard lock(mu_);
    return completed_;
}

void cursor_waiters::run() {
    name_this_thread("prom-waiters");
    std::uint64_t seen = store_.change_version();
    for (;;) {
        bool waiter_arrived = false;
        {
            // Nobody waiting: no wake-up at all, on commits (a thousand a second under publish
            // load) or otherwise (the store notices other processes' commits by itself). A
            // waiter that arrives ends the sleep, and its cursors are read at once
            // (fresh_waiters_).
            prom::unique_lock lock(mu_);
            if (stopping_) return;
            if (pending_.empty()) {
                while (!stopping_ && pending_.empty()) idle_cv_.wait(lock.native());
                if (stopping_) return;
                waiter_arrived = true;
            }
        }
        if (!waiter_arrived) store_.wait_for_change(seen, tick_);
        const std::uint64_t version = store_.change_version();
        const bool changed = version != seen;
        seen = version;

        // Which cursors to read: those that pending waiters name, when something committed
        // or a waiter arrived since the last read (its cursor may have moved before it came);
        // otherwise only those never read, which a waiter names once its projector's rebuild
        // swapped in (the swap's own commit may have been seen before the resolver moved).
        std::set<cursor_key> wanted;
        {
            prom::lock_guard lock(mu_);
            if (stopping_) return;
            const bool all = changed || fresh_waiters_;
            std::vector<std::string> groups;
            for (const auto& [id, w] : pending_) {
                for (const auto& c : w.conditions) {
                    deciding_groups(c, groups);
                    for (auto& g : groups) {
                        if (all || !cursors_.contains({c.topic, g})) wanted.emplace(c.topic, g);
                    }
                }
            }
            fresh_waiters_ = false;
        }
        std::map<cursor_key, seq_t> read;
        std::map<cursor_key, std::string> failed;
        for (const auto& k : wanted) {
            auto c = store_.cursor(k.first, k.second);
            // A failed read keeps the last value: the waiter times out if it stays failed,
            // and is told why (not the value it could not read).
            if (c) {
                read[k] = c->value_or(seq_t{});
            } else {
                failed[k] = c.error().message;
            }
        }
        // A cursor read may see a projector's commit whose listeners have not yet dropped
        // the cached copies of the documents it wrote: answered now, a `wait_for` client
        // reading next got the older body (found from outside). Waits for them (store.hpp).
        if (!read.empty()) store_.wait_for_commit_listeners();

        std::vector<std::pair<cursor_wait_callback, cursor_wait_outcome>> ready;
        {
            prom::lock_guard lock(mu_);
            for (auto& [k, v] : read) {
                auto& at = cursors_[k];
                at = std::max(at, v);
                unreadable_.erase(k);
            }
            for (auto& [k, why] : failed) unreadable_[k] = std::move(why);
            const auto now = clock::now();
            for (auto it = pending_.begin(); it != pending_.end();) {
                if (auto o = settled(it->second, now)) {
                    ready.emplace_back(std::move(it->second.done), std::move(*o));
                    it = pending_.erase(it);
                    ++completed_;
                } else {
                    ++it;
                }
            }
        }
        for (auto& [done, outcome] : ready) done(std::move(outcome));
    }
}

}  // namespace prom::consistency
