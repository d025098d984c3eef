#include "consistency/change_waiters.hpp"

#include <map>
#include <mutex>
#include <optional>
#include <vector>

namespace prom::consistency {

struct change_waiters::state {
    struct waiter {
        std::string collection, key;
        callback done;
    };
    mutable std::mutex mu;
    std::uint64_t generation = 0;  // guarded by mu: commits reported
    std::uint64_t next_id = 1;
    bool stopping = false;
    std::map<std::uint64_t, waiter> waiters;
    // (collection, key) -> ids; key "" for collection-wide waiters.
    std::multimap<std::pair<std::string, std::string>, std::uint64_t> by_target;

    // Under mu: takes the waiter out of both maps.
    std::optional<waiter> take(std::uint64_t id) {
        auto it = waiters.find(id);
        if (it == waiters.end()) return std::nullopt;
        auto range = by_target.equal_range({it->second.collection, it->second.key});
        for (auto t = range.first; t != range.second; ++t) {
            if (t->second == id) {
                by_target.erase(t);
                break;
            }
        }
        waiter w = std::move(it->second);
        waiters.erase(it);
        return w;
    }

    void on_commit(const std::vector<document>& docs) {
        std::vector<callback> ready;
        {
            std::lock_guard lock(mu);
            ++generation;
            if (waiters.empty()) return;
            std::vector<std::uint64_t> ids;
            for (const auto& d : docs) {
                for (const std::string* k : {&d.key, &empty}) {
                    auto range = by_target.equal_range({d.collection, *k});
                    for (auto t = range.first; t != range.second; ++t) ids.push_back(t->second);
                }
            }
            for (auto id : ids) {
                if (auto w = take(id)) ready.push_back(std::move(w->done));
            }
        }
        for (auto& done : ready) done(true);
    }

    const std::string empty;
};

change_waiters::change_waiters(store& s) : state_(std::make_shared<state>()) {
    s.add_commit_listener([weak = std::weak_ptr<state>(state_)](const std::vector<document>& docs) {
        if (auto st = weak.lock()) st->on_commit(docs);
    });
}

change_waiters::~change_waiters() { stop(); }

std::uint64_t change_waiters::generation() const {
    std::lock_guard lock(state_->mu);
    return state_->generation;
}

std::uint64_t change_waiters::wait(std::string_view collection, std::string_view key,
                                   std::uint64_t seen_generation, callback done) {
    std::optional<bool> now;
    std::uint64_t id = 0;
    {
        std::lock_guard lock(state_->mu);
        if (state_->stopping) {
            now = false;
        } else if (state_->generation != seen_generation) {
            now = true;  // something committed since the caller read: read again
        } else {
            id = state_->next_id++;
            state_->waiters.emplace(
                id, state::waiter{std::string(collection), std::string(key), std::move(done)});
            state_->by_target.emplace(std::pair(std::string(collection), std::string(key)), id);
        }
    }
    if (now) done(*now);
    return id;
}

void change_waiters::cancel(std::uint64_t id) {
    std::optional<state::waiter> w;
    {
        std::lock_guard lock(state_->mu);
        w = state_->take(id);
    }
    if (w) w->done(false);
}

void change_waiters::stop() {
    std::map<std::uint64_t, state::waiter> left;
    {
        std::lock_guard lock(state_->mu);
        state_->stopping = true;
        left.swap(state_->waiters);
        state_->by_target.clear();
    }
    for (auto& [id, w] : left) w.done(false);
}

std::size_t change_waiters::active() const {
    std::lock_guard lock(state_->mu);
    return state_->waiters.size();
}

}  // namespace prom::consistency
