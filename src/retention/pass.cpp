// run_pass (retention.hpp, docs/retention.md): plan, raise the horizon, store each key's base
// snapshots and record (key order), delete in small transactions (seq order), then put the
// records once more (key order) for the backend to tidy its key index.
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <map>

#include "core/stoppable_sleep.hpp"
#include "prom/timetravel.hpp"
#include "retention/pass_plan.hpp"
#include "retention/retention.hpp"
#include "retention/topic_lease.hpp"

namespace prom::retention {

namespace {

using namespace std::chrono_literals;

// Renewed while the pass works; a pass killed mid-way holds its topic this long at most
// (an owner that comes back under the same name, a node, takes it again at once).
constexpr auto pass_lease_ttl = 15s;
constexpr std::size_t scan_page = 5000;

// The topic's events as planning needs them: positions and keys, no payloads.
result<topic_index> read_index(store& s, std::string_view topic, topic_lease* lease,
                               pass_progress& progress,
                               const std::function<void(const pass_progress&)>& on_progress) {
    topic_index index;
    std::map<std::string, std::uint32_t, std::less<>> numbers;
    scan_query q{.topic = std::string(topic), .limit = scan_page};
    for (;;) {
        auto page = scan_fitting(s, q);
        if (!page) return std::unexpected(page.error());
        for (auto& e : *page) {
            event_ref ref{e.seq, e.ts, std::nullopt};
            if (!e.key.empty()) {
                auto it = numbers.find(e.key);
                if (it == numbers.end()) {
                    it =
                        numbers.emplace(e.key, static_cast<std::uint32_t>(index.keys.size())).first;
                    index.keys.push_back(e.key);
                }
                ref.key = it->second;
            }
            index.events.push_back(ref);
        }
        progress.examined += static_cast<std::int64_t>(page->size());
        if (on_progress) on_progress(progress);
        if (lease) {
            if (auto ok = lease->renew_if_due(); !ok) return std::unexpected(ok.error());
        }
        if (page->size() < *q.limit) return index;  // q.limit: what scan_fitting used
        q.from_seq = page->back().seq.next();
    }
}

// The groups reading `topic`, with their cursors.
result<std::vector<cursor_status>> groups_of(store& s, std::string_view topic) {
    auto all = s.list_cursors();
    if (!all) return std::unexpected(all.error());
    std::vector<cursor_status> out;
    for (auto& c : *all) {
        if (c.topic == topic) out.push_back(std::move(c));
    }
    return out;
}

std::vector<group_behind> behind_of(const std::vector<cursor_status>& groups,
                                    const std::vector<seq_t>& dropped) {
    std::vector<group_behind> out;
    for (const auto& g : groups) {
        auto unseen = dropped.end() - std::upper_bound(dropped.begin(), dropped.end(), g.seq);
        if (unseen > 0) out.push_back({g.group, static_cast<std::int64_t>(unseen)});
    }
    return out;
}

// Leaves the writer to others between two transactions: `o.pause`, or less when the pass
// is stopped meanwhile.
void yield_writer(const pass_options& o) {
    if (o.pause <= std::chrono::microseconds::zero()) return;
    (void)sleep_for_unless_stopped(o.stop, o.pause);
}

// The base snapshots of one key, both built-in reducers, at its base position: the
// greatest of this pass's and earlier passes' (key_horizon merges to the greatest). None
// when they cannot be made (no valid start: an earlier base snapshot was deleted; or the
// key changed under the pass): then the key's events stay, which changes no answer.
using base_snapshots = std::vector<std::pair<std::string, state_snapshot>>;  // reducer, snap

result<std::optional<base_snapshots>> fold_base_snapshots(
    time_machine& tm, std::string_view topic, const key_drops& kd,
    const std::optional<key_horizon>& earlier) {
    position base = kd.base;
    std::optional<position> valid_from;
    if (earlier) {
        valid_from = position{earlier->base_ts, earlier->base_seq};
        base = std::max(base, *valid_from);
    }
    base_snapshots out;
    for (const auto& r : {replace_reducer(), merge_reducer()}) {
        auto snap = tm.snapshot_through(topic, kd.key, r, base, valid_from);
        if (!snap) {
            if (snap.error().code == errc::gone || snap.error().code == errc::not_found) {
                spdlog::warn("retention: {}/{} keeps its events: {}", topic, kd.key,
                             snap.error().message);
                return std::optional<base_snapshots>{};
            }
            return std::unexpected(snap.error());
        }
        out.emplace_back(r.name, std::move(*snap));
    }
    return std::optional<base_snapshots>{std::move(out)};
}

// What the pass's transactions have done so far, for the report.
struct deletion {
    std::vector<const key_drops*> ready;  // keys whose base snapshots and record are stored
    // Per group: the deleted events past its cursor when they were deleted (read in the
    // deleting transaction). Counted at planning time instead, a projector that caught up
    // while a long pass ran was reported as having missed thousands of events it had
    // applied (found from outside: 12990 "unseen", none missed).
    std::vector<std::string> groups;
    std::map<std::string, std::int64_t, std::less<>> unseen;
};

// Between two transactions: the progress report, the lease, the WAL copy and the pause
// (docs/retention.md, "Pacing").
status between_transactions(store& s, const pass_options& o, topic_lease& lease,
                            const pass_progress& progress) {
    if (o.on_progress) o.on_progress(progress);
    if (auto ok = lease.renew_if_due(); !ok) return ok;
    if (auto ok = s.checkpoint_log(); !ok) return ok;
    yield_writer(o);
    return {};
}

status stopped(std::string_view topic, const pass_progress& progress) {
    return fail(errc::cancelled,
                "the retention pass of '" + std::string(topic) + "' was stopped after dropping " +
                    std::to_string(progress.dropped) + " events; the next pass goes on from there");
}

// The record a pass writes for a key it drops events of (store.hpp, key_horizon).
key_horizon record_of(const key_drops& kd) {
    return {kd.key, kd.gone_from, kd.base.first, kd.base.second};
}

// Runs `step(i)` for items [0, count) in transactions of at most `batch` items that stop
// taking more once they have worked for `o.txn_time` (at least one item each), so a
// transaction holds the writer about as long whatever an item costs.
template <typename Step>
status in_short_transactions(store& s, std::string_view topic, std::size_t count,
                             const pass_options& o, topic_lease& lease,
                             const pass_progress& progress, Step step) {
    const std::size_t batch = std::max<std::size_t>(o.batch_events, 1);
    for (std::size_t i = 0; i < count;) {
        if (o.stop.stop_requested()) return stopped(topic, progress);
        auto txn = s.begin();
        if (!txn) return std::unexpected(txn.error());
        const auto began = std::chrono::steady_clock::now();
        const std::size_t first = i;
        do {
            if (auto ok = step(**txn, i); !ok) return ok;
            ++i;
        } while (i < count && i - first < batch &&
                 std::chrono::steady_clock::now() - began < o.txn_time);
        if (auto ok = (*txn)->commit(); !ok) return ok;
        if (auto ok = between_transactions(s, o, lease, progress); !ok) return ok;
    }
    return {};
}

// Phase 1, in key order: each key's base snapshots (both reducers) and its key_horizon
// record. Before any of a key's events goes, what answers for it afterwards is durable:
// time travel reads the snapshot and the record from then on (so its answers are already
// those of the compacted key), and a kill -9 at any later point leaves no missing event
// uncovered. Keys whose snapshots cannot be made keep their events.
status store_records(store& s, std::string_view topic, pass_plan& plan, const pass_options& o,
                     topic_lease& lease, pass_progress& progress, deletion& done) {
    // What earlier passes dropped, read once: passes and erasures of the topic hold its
    // lease, so nobody changes these records while this pass runs.
    auto horizons = s.key_horizons(topic);
    if (!horizons) return std::unexpected(horizons.error());
    std::map<std::string, key_horizon, std::less<>> earlier;
    for (auto& h : *horizons) earlier.emplace(h.key, std::move(h));

    time_machine tm(s);
    const std::size_t batch = std::max<std::size_t>(o.batch_events, 1);
    for (std::size_t at = 0; at < plan.keys.size(); at += batch) {
        if (o.stop.stop_requested()) return stopped(topic, progress);
        const std::size_t end = std::min(plan.keys.size(), at + batch);
        // The folds read outside the transactions. last_seq is read before they begin:
        // events appended since have ts >= the horizon, which no base snapshot exceeds, so
        // put_snapshots keeps them.
        auto now_info = s.topic(topic);
        if (!now_info) return std::unexpected(now_info.error());
        const seq_t known_seq = *now_info ? (*now_info)->last_seq : seq_t{};
        std::vector<std::pair<const key_drops*, base_snapshots>> folded;
        for (std::size_t k = at; k < end; ++k) {
            auto it = earlier.find(plan.keys[k].key);
            auto snaps = fold_base_snapshots(
                tm, topic, plan.keys[k],
                it == earlier.end() ? std::nullopt : std::optional<key_horizon>{it->second});
            if (!snaps) return std::unexpected(snaps.error());
            if (auto ok = lease.renew_if_due(); !ok) return ok;  // a long key folds long
            if (*snaps) folded.emplace_back(&plan.keys[k], std::move(**snaps));
        }
        auto store_key = [&](transaction& txn, std::size_t i) -> status {
            const auto& [kd, snaps] = folded[i];
            for (const auto& [reducer, snap] : snaps) {
                auto stored = txn.put_snapshots(topic, kd->key, reducer, known_seq, {snap});
                if (!stored) return std::unexpected(stored.error());
                if (*stored != 1) {
                    // A stored snapshot of the other reducer changes no answer.
                    spdlog::warn(
                        "retention: {}/{} keeps its events: its base snapshot ({}) was not "
                        "stored",
                        topic, kd->key, reducer);
                    return {};
                }
            }
            if (auto ok = txn.put_key_horizon(topic, record_of(*kd)); !ok) return ok;
            // Counted now; only a failed commit, which fails the pass, would undo it.
            done.ready.push_back(kd);
            return {};
        };
        if (auto ok = in_short_transactions(s, topic, folded.size(), o, lease, progress, store_key);
            !ok) {
            return ok;
        }
    }
    return {};
}

// Phase 2, in seq order: deletes the events of the keys phase 1 made ready, and the keyless
// drops. In seq order because neighbouring seqs share pages (the table is ordered by seq,
// and generated ids are time-ordered): a transaction dirties a few table and id-index pages
// instead of one of each per event, as key order did, so its commit writes a fraction of
// the WAL (docs/benchmarks.md, "Retention").
status delete_in_seq_order(store& s, std::string_view topic, const pass_plan& plan,
                           const pass_options& o, topic_lease& lease, pass_progress& progress,
                           deletion& done) {
    std::vector<seq_t> seqs(plan.keyless);
    for (const key_drops* kd : done.ready)
        seqs.insert(seqs.end(), kd->seqs.begin(), kd->seqs.end());
    std::sort(seqs.begin(), seqs.end());
    const std::size_t batch = std::max<std::size_t>(o.batch_events, 1);
    for (std::size_t at = 0; at < seqs.size(); at += batch) {
        if (o.stop.stop_requested()) return stopped(topic, progress);
        const std::size_t end = std::min(seqs.size(), at + batch);
        std::vector<seq_t> chunk(seqs.begin() + static_cast<std::ptrdiff_t>(at),
                                 seqs.begin() + static_cast<std::ptrdiff_t>(end));
        auto txn = s.begin();
        if (!txn) return std::unexpected(txn.error());
        std::map<std::string, std::int64_t, std::less<>> unseen;
        for (const auto& g : done.groups) {
            auto at = (*txn)->cursor(topic, g);
            if (!at) return std::unexpected(at.error());
            const seq_t cursor = at->value_or(seq_t{});
            auto past = chunk.end() - std::upper_bound(chunk.begin(), chunk.end(), cursor);
            if (past > 0) unseen[g] += past;
        }
        auto deleted = (*txn)->delete_events(topic, chunk);
        if (!deleted) return std::unexpected(deleted.error());
        if (auto ok = (*txn)->commit(); !ok) return ok;
        for (auto& [g, n] : unseen) done.unseen[g] += n;
        progress.dropped += static_cast<std::int64_t>(chunk.size());
        if (auto ok = between_transactions(s, o, lease, progress); !ok) return ok;
    }
    return {};
}

// Phase 3, in key order: each key's record once more, now that its events are gone. The
// record does not change (the merge rule keeps it), but a backend may tidy what the
// deletions left beside it: SQLite deletes the key's rows of its key index whose events are
// gone (storage/sqlite/sqlite_retention.cpp), a page or two per key in this order instead of
// one page per deleted event in seq order.
status restate_records(store& s, std::string_view topic, const pass_options& o, topic_lease& lease,
                       pass_progress& progress, const deletion& done) {
    return in_short_transactions(s, topic, done.ready.size(), o, lease, progress,
                                 [&](transaction& txn, std::size_t i) {
                                     return txn.put_key_horizon(topic, record_of(*done.ready[i]));
                                 });
}

}  // namespace

pacing default_pacing(std::string_view db_url) {
    if (db_url.starts_with("postgres")) {
        return {.batch_events = 100, .pause = std::chrono::microseconds(1000)};
    }
    return {};
}

json::object to_json(const pass_report& r) {
    json::array groups;
    for (const auto& g : r.groups_behind) {
        groups.push_back(json::object{{"group", g.group}, {"unseen_dropped", g.unseen_dropped}});
    }
    return json::object{{"topic", r.topic},           {"dry_run", r.dry_run},
                        {"examined", r.examined},     {"retained_out", r.retained_out},
                        {"compacted", r.compacted},   {"keys", r.keys},
                        {"horizon", r.horizon.value}, {"groups_behind", std::move(groups)},
                        {"took_ms", r.took.count()}};
}

result<pass_report> run_pass(store& s, std::string_view topic, const policy& p,
                             const pass_options& o) {
    const auto started = std::chrono::steady_clock::now();
    if (auto ok = check_retention_applies(topic); !ok) return std::unexpected(ok.error());
    if (!p.retain && !p.compact) {
        return fail(errc::invalid_argument, "a policy needs retain or compact");
    }
    auto info = s.topic(topic);
    if (!info) return std::unexpected(info.error());
    if (!*info) return fail(errc::not_found, "unknown topic '" + std::string(topic) + "'");

    std::optional<topic_lease> lease;
    if (!o.dry_run) {  // a dry run changes nothing, so it excludes nobody
        std::string owner = o.owner.empty() ? "pass:" + std::to_string(::getpid()) : o.owner;
        auto taken =
            topic_lease::take(s, topic, std::move(owner), pass_lease_ttl, "a retention pass");
        if (!taken) return std::unexpected(taken.error());
        lease.emplace(std::move(*taken));
    }

    pass_report report;
    report.topic = std::string(topic);
    report.dry_run = o.dry_run;
    pass_progress progress{.total = (*info)->count};
    auto index = read_index(s, topic, lease ? &*lease : nullptr, progress, o.on_progress);
    if (!index) return std::unexpected(index.error());
    report.examined = static_cast<std::int64_t>(index->events.size());

    auto groups = groups_of(s, topic);
    if (!groups) return std::unexpected(groups.error());
    std::optional<seq_t> keep_after;
    if (p.behind == behind_policy::wait) {
        for (const auto& g : *groups) keep_after = std::min(keep_after.value_or(g.seq), g.seq);
    }
    auto plan = plan_pass(*index, p, o.now, keep_after);
    index->events.clear();
    index->events.shrink_to_fit();

    const auto finish = [&]() -> result<pass_report> {
        report.took = std::chrono::duration_cast<std::chrono::milliseconds>(
            std::chrono::steady_clock::now() - started);
        return std::move(report);
    };

    if (o.dry_run || !plan.greatest_ts) {
        report.retained_out = plan.retained_out;
        report.compacted = plan.compacted;
        report.keys = static_cast<std::int64_t>(plan.keys.size());
        report.groups_behind = behind_of(*groups, plan.all_seqs());
        // A dry run reports the horizon the pass would leave.
        report.horizon = std::max((*info)->horizon, plan.greatest_ts.value_or(ts_ms{}));
        return finish();
    }

    // First the horizon, so that no late event lands among the events about to go (a
    // horizon of 0 means none: a pass that drops only ts-0 events still sets one).
    auto horizon = s.raise_horizon(topic, std::max(*plan.greatest_ts, ts_ms{1}));
    if (!horizon) return std::unexpected(horizon.error());
    report.horizon = *horizon;

    // Then each key's base snapshots and record, the deletions, the records again
    // (docs/retention.md, "Pacing").
    progress.examined = report.examined;
    deletion done;
    for (const auto& g : *groups) done.groups.push_back(g.group);
    if (auto ok = store_records(s, topic, plan, o, *lease, progress, done); !ok) {
        return std::unexpected(ok.error());
    }
    if (auto ok = delete_in_seq_order(s, topic, plan, o, *lease, progress, done); !ok) {
        return std::unexpected(ok.error());
    }
    if (auto ok = restate_records(s, topic, o, *lease, progress, done); !ok) {
        return std::unexpected(ok.error());
    }
    for (const auto* kd : done.ready) {
        report.retained_out += kd->retained_out;
        report.compacted += kd->compacted;
    }
    report.retained_out += static_cast<std::int64_t>(plan.keyless.size());
    report.keys = static_cast<std::int64_t>(done.ready.size());
    for (const auto& [group, n] : done.unseen) report.groups_behind.push_back({group, n});
    for (const auto& g : report.groups_behind) {
        spdlog::warn(
            "retention: group {} of topic {} had not read {} of the events this pass "
            "dropped (behind = skip); it continues after them",
            g.group, topic, g.unseen_dropped);
    }
    return finish();
}

}  // namespace prom::retention
