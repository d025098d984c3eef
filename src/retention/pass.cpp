// run_pass (retention.hpp, docs/retention.md): plan, raise the horizon, store the base
// snapshots, delete in small transactions.
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
        auto page = s.scan(q);
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
        if (page->size() < scan_page) return index;
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

// What the deleting transactions have done so far, for the report.
struct deletion {
    std::vector<const key_drops*> ready;  // keys whose base snapshots are stored
    std::vector<seq_t> dropped;           // every seq deleted
};

// Deletes the plan's keys (and the keyless drops) in transactions of about `batch` events.
// The transaction that deletes a key's first events also stores its base snapshots, so they
// are durable together (a kill -9 between transactions leaves no key without them), and
// every transaction writes the key_horizon of each key it deletes events of, so each key
// that lost events has a record that covers what it lost: the next pass resumes. Between
// two transactions the pass leaves the writer to others for `o.pause`, copies the WAL into
// the database (store::checkpoint_log) and honours `o.stop` (docs/retention.md, "Pacing").
status delete_in_batches(store& s, std::string_view topic, pass_plan& plan, const pass_options& o,
                         topic_lease& lease, pass_progress& progress, deletion& done) {
    struct item {
        seq_t seq;
        std::size_t key;  // index into plan.keys; npos: keyless
    };
    constexpr std::size_t keyless = std::string::npos;
    std::vector<item> items;
    for (std::size_t k = 0; k < plan.keys.size(); ++k) {
        for (seq_t seq : plan.keys[k].seqs) items.push_back({seq, k});
    }
    for (seq_t seq : plan.keyless) items.push_back({seq, keyless});

    // What earlier passes dropped, read once: passes and erasures of the topic hold its
    // lease, so nobody changes these records while this pass runs.
    auto horizons = s.key_horizons(topic);
    if (!horizons) return std::unexpected(horizons.error());
    std::map<std::string, key_horizon, std::less<>> earlier;
    for (auto& h : *horizons) earlier.emplace(h.key, std::move(h));

    enum class state : std::uint8_t { pending, ready, kept };
    std::vector<state> states(plan.keys.size(), state::pending);
    time_machine tm(s);
    const std::size_t batch = std::max<std::size_t>(o.batch_events, 1);
    for (std::size_t at = 0; at < items.size(); at += batch) {
        if (o.stop.stop_requested()) {
            return fail(errc::cancelled, "the retention pass of '" + std::string(topic) +
                                             "' was stopped after dropping " +
                                             std::to_string(progress.dropped) +
                                             " events; the next pass goes on from there");
        }
        const std::size_t end = std::min(items.size(), at + batch);
        // The keys this transaction starts: their base snapshots are folded first, outside
        // the transaction (reads only). last_seq is read before the folds begin: events
        // appended since have ts >= the horizon, which no base snapshot exceeds, so
        // put_snapshots keeps them.
        auto now_info = s.topic(topic);
        if (!now_info) return std::unexpected(now_info.error());
        const seq_t known_seq = *now_info ? (*now_info)->last_seq : seq_t{};
        std::vector<std::pair<std::size_t, base_snapshots>> starting;
        for (std::size_t i = at; i < end; ++i) {
            const std::size_t k = items[i].key;
            if (k == keyless || states[k] != state::pending) continue;
            if (!starting.empty() && starting.back().first == k) continue;
            auto it = earlier.find(plan.keys[k].key);
            auto folded = fold_base_snapshots(
                tm, topic, plan.keys[k],
                it == earlier.end() ? std::nullopt : std::optional<key_horizon>{it->second});
            if (!folded) return std::unexpected(folded.error());
            if (auto ok = lease.renew_if_due(); !ok) return ok;  // a long key folds long
            if (!*folded) {
                states[k] = state::kept;
                continue;
            }
            starting.emplace_back(k, std::move(**folded));
        }

        auto txn = s.begin();
        if (!txn) return std::unexpected(txn.error());
        for (const auto& [k, snaps] : starting) {
            states[k] = state::ready;
            for (const auto& [reducer, snap] : snaps) {
                auto stored =
                    (*txn)->put_snapshots(topic, plan.keys[k].key, reducer, known_seq, {snap});
                if (!stored) return std::unexpected(stored.error());
                if (*stored != 1) {
                    spdlog::warn(
                        "retention: {}/{} keeps its events: its base snapshot ({}) was not "
                        "stored",
                        topic, plan.keys[k].key, reducer);
                    states[k] = state::kept;
                    break;
                }
            }
            if (states[k] == state::ready) done.ready.push_back(&plan.keys[k]);
        }
        std::vector<seq_t> seqs;
        std::vector<std::size_t> touched;
        for (std::size_t i = at; i < end; ++i) {
            const std::size_t k = items[i].key;
            if (k != keyless && states[k] != state::ready) continue;
            seqs.push_back(items[i].seq);
            if (k != keyless && (touched.empty() || touched.back() != k)) touched.push_back(k);
        }
        if (seqs.empty()) continue;  // every key of the batch keeps its events: roll back
        std::sort(seqs.begin(), seqs.end());
        auto deleted = (*txn)->delete_events(topic, seqs);
        if (!deleted) return std::unexpected(deleted.error());
        for (std::size_t k : touched) {
            const key_drops& kd = plan.keys[k];
            key_horizon h{kd.key, kd.gone_from, kd.base.first, kd.base.second};
            if (auto ok = (*txn)->put_key_horizon(topic, h); !ok) return ok;
        }
        if (auto ok = (*txn)->commit(); !ok) return ok;
        done.dropped.insert(done.dropped.end(), seqs.begin(), seqs.end());
        progress.dropped += static_cast<std::int64_t>(seqs.size());
        if (o.on_progress) o.on_progress(progress);
        if (auto ok = lease.renew_if_due(); !ok) return ok;
        if (auto ok = s.checkpoint_log(); !ok) return ok;
        yield_writer(o);
    }
    return {};
}

}  // namespace

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

    // Then the deletions, each transaction with the base snapshots of the keys it starts.
    progress.examined = report.examined;
    deletion done;
    if (auto ok = delete_in_batches(s, topic, plan, o, *lease, progress, done); !ok) {
        return std::unexpected(ok.error());
    }
    for (const auto* kd : done.ready) {
        report.retained_out += kd->retained_out;
        report.compacted += kd->compacted;
    }
    report.retained_out += static_cast<std::int64_t>(plan.keyless.size());
    report.keys = static_cast<std::int64_t>(done.ready.size());
    std::sort(done.dropped.begin(), done.dropped.end());
    report.groups_behind = behind_of(*groups, done.dropped);
    for (const auto& g : report.groups_behind) {
        spdlog::warn(
            "retention: group {} of topic {} had not read {} of the events this pass "
            "dropped (behind = skip); it continues after them",
            g.group, topic, g.unseen_dropped);
    }
    return finish();
}

}  // namespace prom::retention
