#include "retention/runner.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <set>

#include "core/stoppable_sleep.hpp"
#include "core/thread_name.hpp"
#include "prom/timetravel.hpp"

namespace prom::retention {

using namespace std::chrono_literals;

// The topics that grew since the last round; written by the store's append listener, which
// may fire after the runner is gone (listeners cannot be removed), hence shared.
struct runner::grown_topics {
    std::mutex mu;
    std::set<std::string, std::less<>> topics;
    bool all = false;  // a commit whose topics are unknown: any topic may have grown
};

namespace {

std::string describe(const pass_report& r) {
    std::string out = "topic '" + r.topic + "': dropped " + std::to_string(r.retained_out) +
                      " by retain, " + std::to_string(r.compacted) + " by compact (" +
                      std::to_string(r.keys) + " keys), horizon " + std::to_string(r.horizon.value);
    for (const auto& g : r.groups_behind) {
        out += "; group '" + g.group + "' had not seen " + std::to_string(g.unseen_dropped);
    }
    return out;
}

}  // namespace

runner::runner(store& s, runner_options o)
    : store_(s), options_(std::move(o)), grown_(std::make_shared<grown_topics>()) {
    if (options_.owner.empty()) options_.owner = "node:" + new_event_id();
    if (!options_.clock) options_.clock = [] { return now_ms(); };
    if (options_.snapshots) {
        store_.add_append_listener([g = grown_](const appended_topics& a) {
            std::lock_guard lock(g->mu);
            if (!a.complete) g->all = true;
            for (const auto& t : a.tips) {
                if (!g->topics.contains(t.topic)) g->topics.insert(t.topic);
            }
        });
    }
}

runner::~runner() { stop(); }

void runner::start() {
    thread_ = std::jthread([this, token = stop_.get_token()] {
        name_this_thread("prom-retention");
        for (;;) {
            if (!sleep_leading(token, std::chrono::steady_clock::now() + options_.interval)) return;
            auto round = run_round();
            if (!round) spdlog::warn("prom serve: retention: {}", round.error().message);
        }
    });
}

bool runner::sleep_leading(std::stop_token stop, std::chrono::steady_clock::time_point until) {
    // The lease lives a few renewals, not a few intervals: with an interval of an hour, a
    // leader killed with -9 would otherwise hold the rounds of every node for three hours.
    const auto renew_every = std::max<std::chrono::milliseconds>(options_.lease_ttl / 3, 1ms);
    for (;;) {
        const auto now = std::chrono::steady_clock::now();
        if (now >= until) return true;
        const bool leading = leading_;
        const auto wake = leading ? std::min(until, now + renew_every) : until;
        if (!sleep_until_stopped(stop, wake)) return false;
        if (leading && wake < until) {
            auto renewed = store_.acquire_lease(runner_lease, options_.owner, options_.lease_ttl);
            leading_ = renewed && *renewed;
        }
    }
}

void runner::stop() {
    if (!stop_.stop_requested()) stop_.request_stop();
    if (thread_.joinable()) thread_.join();
    (void)store_.release_lease(runner_lease, options_.owner);
}

result<round_report> runner::run_round() {
    round_report out;
    auto leader = store_.acquire_lease(runner_lease, options_.owner, options_.lease_ttl);
    if (!leader) return std::unexpected(leader.error());
    out.leader = *leader;
    leading_ = out.leader;
    if (!out.leader) return out;
    // Renewed between passes; a pass longer than the lease may let another node start a round,
    // which is safe (each topic's pass holds the topic's own lease) and ends this one.
    auto renewed_at = std::chrono::steady_clock::now();
    auto still_leading = [&]() -> result<bool> {
        if (std::chrono::steady_clock::now() - renewed_at < options_.lease_ttl / 3) return true;
        auto renewed = store_.acquire_lease(runner_lease, options_.owner, options_.lease_ttl);
        renewed_at = std::chrono::steady_clock::now();
        leading_ = renewed && *renewed;
        return renewed;
    };

    auto policies = load_policies(store_);
    if (!policies) return std::unexpected(policies.error());
    if (!policies->empty()) {
        auto topics = store_.topics();
        if (!topics) return std::unexpected(topics.error());
        for (const auto& t : *topics) {
            if (stop_.stop_requested()) return out;
            auto leading = still_leading();
            if (!leading) return std::unexpected(leading.error());
            if (!*leading) return out;  // another node's round goes on from here
            auto p = policy_for(*policies, t.topic);
            if (!p || t.count == 0) continue;
            auto report = run_pass(store_, t.topic, *p,
                                   {.now = options_.clock(),
                                    .batch_events = options_.batch_events,
                                    .owner = options_.owner,
                                    .pause = options_.pause,
                                    .stop = stop_.get_token()});
            if (!report) {
                // Shutdown: the pass stopped between two transactions (the next round, on
                // this node or another, goes on from there).
                if (report.error().code == errc::cancelled) return out;
                // Another pass of the topic (the CLI, the route) is running: the next round
                // tries again.
                if (report.error().code == errc::conflict || report.error().code == errc::not_found)
                    continue;
                spdlog::warn("prom serve: retention pass of '{}': {}", t.topic,
                             report.error().message);
                continue;
            }
            record(*report);
            if (report->retained_out + report->compacted > 0) {
                spdlog::info("prom serve: retention pass: {}", describe(*report));
            }
            out.passes.push_back(std::move(*report));
        }
    }
    // Give the freed pages back to the file system (SQLite; docs/retention.md, "Space").
    bool dropped = std::ranges::any_of(
        out.passes, [](const pass_report& r) { return r.retained_out + r.compacted > 0; });
    if (dropped) {
        if (auto ok = store_.reclaim_space(); !ok) {
            spdlog::warn("prom serve: retention: giving space back: {}", ok.error().message);
        }
    }
    if (options_.snapshots) {
        if (auto ok = build_snapshots(out); !ok) return std::unexpected(ok.error());
    }
    return out;
}

status runner::build_snapshots(round_report& out) {
    std::vector<std::string> todo;
    {
        std::lock_guard lock(grown_->mu);
        if (grown_->all) {
            grown_->all = false;
            grown_->topics.clear();
            auto topics = store_.topics();
            if (!topics) {
                grown_->all = true;
                return std::unexpected(topics.error());
            }
            for (const auto& t : *topics) todo.push_back(t.topic);
        } else {
            todo.assign(grown_->topics.begin(), grown_->topics.end());
            grown_->topics.clear();
        }
    }
    time_machine tm(store_);
    const reducer reducers[] = {replace_reducer(), merge_reducer()};
    for (std::size_t i = 0; i < todo.size(); ++i) {
        if (stop_.stop_requested()) {
            // Not built yet: the next start's first appends note them again, and time travel
            // builds what it needs on the way meanwhile.
            return {};
        }
        for (const auto& r : reducers) {
            auto built = tm.build_snapshots(todo[i], r);
            if (!built) {
                spdlog::warn("prom serve: snapshots of '{}' ({}): {}", todo[i], r.name,
                             built.error().message);
            }
        }
        ++out.snapshot_topics;
    }
    return {};
}

void runner::record(const pass_report& r) {
    if (r.dry_run) return;
    std::lock_guard lock(mu_);
    ++stats_.passes;
    stats_.last_pass = now_ms();  // wall time, whatever clock the ages use
    stats_.dropped[r.topic] += r.retained_out + r.compacted;
    for (const auto& g : r.groups_behind) {
        stats_.unseen[{r.topic, g.group}] += g.unseen_dropped;
    }
}

runner_stats runner::stats() const {
    std::lock_guard lock(mu_);
    return stats_;
}

}  // namespace prom::retention
