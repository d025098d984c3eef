#include "consistency/change_waiters.hpp"

#include <map>
#include <optional>
#include <utility>
#include <vector>

#include "core/thread_annotations.hpp"

namespace prom::consistency {

struct change_waiters::state {
    struct waiter {
        std::string collection, key;
        callback done;
    };
    mutable prom::mutex mu;
    std::uint64_t generation PROM_GUARDED_BY(mu) = 0;  // commits reported
    std::uint64_t next_id PROM_GUARDED_BY(mu) = 1;
    bool stopping PROM_GUARDED_BY(mu) = false;
    std::map<std::uint64_t, waiter> waiters PROM_GUARDED_BY(mu);
    // (collection, key) -> ids; key "" for collection-wide waiters.
    std::multimap<std::pair<std::string, std::string>, std::uint64_t> by_target PROM_GUARDED_BY(mu);

    // Takes the waiter out of both maps.
    std::optional<waiter> take(std::uint64_t id) PROM_REQUIRES(mu) {
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
            prom::lock_guard lock(mu);
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

    void wake_all() {
        std::vector<callback> ready;
        {
            prom::lock_guard lock(mu);
            ++generation;
            ready.reserve(waiters.size());
            for (auto& [id, w] : waiters) ready.push_back(std::move(w.done));
            waiters.clear();
            by_target.clear();
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

std::function<void()> change_waiters::waker() const {
    return [weak = std::weak_ptr<state>(state_)] {
        if (auto st = weak.lock()) st->wake_all();
    };
}

std::uint64_t change_waiters::generation() const {
    prom::lock_guard lock(state_->mu);
    return state_->generation;
}

std::uint64_t change_waiters::wait(std::string_view collection, std::string_view key,
                                   std::uint64_t seen_generation, callback done) {
    std::optional<bool> now;
    std::uint64_t id = 0;
    {
        prom::lock_guard lock(state_->mu);
        if (state_->stopping) {
            now = false;
        } else if (state_->generation != seen_generation) {
            now = true;  // something committed since the caller read: read again
        } else {
            id = state_->next_id++;
            state_->waiters.emplace(id, state::waiter{std::string(collection), std::string(key),
                                                      std::exchange(done, nullptr)});
            state_->by_target.emplace(std::pair(std::string(collection), std::string(key)), id);
        }
    }
    if (now) done(*now);
    return id;
}

void change_waiters::cancel(std::uint64_t id) {
    std::optional<state::waiter> w;
    {
        prom::lock_guard lock(state_->mu);
        w = state_->take(id);
    }
    if (w) w->done(false);
}

void change_waiters::stop() {
    std::map<std::uint64_t, state::waiter> left;
    {
        prom::lock_guard lock(state_->mu);
        state_->stopping = true;
        left.swap(state_->waiters);
        state_->by_target.clear();
    }
    for (auto& [id, w] : left) w.done(false);
}

bool change_waiters::stopping() const {
    prom::lock_guard lock(state_->mu);
    return state_->stopping;
}

std::size_t change_waiters::active() const {
    prom::lock_guard lock(state_->mu);
    return state_->waiters.size();
}

}  // namespace prom::consistency
