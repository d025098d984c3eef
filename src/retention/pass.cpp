// run_pass (retention.hpp, docs/retention.md): plan, raise the horizon, store the base
// snapshots, delete in small transactions.
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <map>

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

// Stores the base snapshots of one key, both built-in reducers, at its base position: the
// greatest of this pass's and earlier passes' (key_horizon merges to the greatest). False
// when it cannot (no valid start: an earlier base snapshot was deleted; or the key changed
// under the pass): then the key's events stay, which changes no answer.
result<bool> store_base_snapshots(store& s, std::string_view topic, const key_drops& kd,
                                  seq_t known_seq) {
    auto earlier = s.find_key_horizon(topic, kd.key);
    if (!earlier) return std::unexpected(earlier.error());
    position base = kd.base;
    std::optional<position> valid_from;
    if (*earlier) {
        valid_from = position{(*earlier)->base_ts, (*earlier)->base_seq};
        base = std::max(base, *valid_from);
    }
    time_machine tm(s);
    for (const auto& r : {replace_reducer(), merge_reducer()}) {
        auto snap = tm.snapshot_through(topic, kd.key, r, base, valid_from);
        if (!snap) {
            if (snap.error().code == errc::gone || snap.error().code == errc::not_found) {
                spdlog::warn("retention: {}/{} keeps its events: {}", topic, kd.key,
                             snap.error().message);
                return false;
            }
            return std::unexpected(snap.error());
        }
        auto stored = s.put_snapshots(topic, kd.key, r.name, known_seq, {*snap});
        if (!stored) return std::unexpected(stored.error());
        if (*stored != 1) {
            spdlog::warn(
                "retention: {}/{} keeps its events: its base snapshot ({}) was not "
                "stored",
                topic, kd.key, r.name);
            return false;
        }
    }
    return true;
}

// Deletes `keys` (and the keyless drops) in transactions of about `batch` events; every
// transaction writes the key_horizon of each key it deletes events of, so a kill between
// two transactions leaves every key with a record that covers what it lost.
status delete_in_batches(store& s, std::string_view topic, const std::vector<key_drops*>& keys,
                         const std::vector<seq_t>& keyless, std::size_t batch, topic_lease& lease,
                         pass_progress& progress,
                         const std::function<void(const pass_progress&)>& on_progress) {
    struct item {
        seq_t seq;
        const key_drops* key;  // null: keyless
    };
    std::vector<item> items;
    for (const auto* kd : keys) {
        for (seq_t seq : kd->seqs) items.push_back({seq, kd});
    }
    for (seq_t seq : keyless) items.push_back({seq, nullptr});
    batch = std::max<std::size_t>(batch, 1);
    for (std::size_t at = 0; at < items.size(); at += batch) {
        const std::size_t end = std::min(items.size(), at + batch);
        std::vector<seq_t> seqs;
        std::vector<const key_drops*> touched;
        for (std::size_t i = at; i < end; ++i) {
            seqs.push_back(items[i].seq);
            if (items[i].key && (touched.empty() || touched.back() != items[i].key)) {
                touched.push_back(items[i].key);
            }
        }
        std::sort(seqs.begin(), seqs.end());
        auto txn = s.begin();
        if (!txn) return std::unexpected(txn.error());
        auto deleted = (*txn)->delete_events(topic, seqs);
        if (!deleted) return std::unexpected(deleted.error());
        for (const auto* kd : touched) {
            key_horizon h{kd->key, kd->gone_from, kd->base.first, kd->base.second};
            if (auto ok = (*txn)->put_key_horizon(topic, h); !ok) return ok;
        }
        if (auto ok = (*txn)->commit(); !ok) return ok;
        progress.dropped += static_cast<std::int64_t>(seqs.size());
        if (on_progress) on_progress(progress);
        if (auto ok = lease.renew_if_due(); !ok) return ok;
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

    // Then the base snapshots. last_seq read after the raise: events appended from now on
    // have ts >= the horizon, which no base snapshot exceeds, so put_snapshots keeps them.
    auto now_info = s.topic(topic);
    if (!now_info) return std::unexpected(now_info.error());
    const seq_t known_seq = *now_info ? (*now_info)->last_seq : seq_t{};
    std::vector<key_drops*> ready;
    for (auto& kd : plan.keys) {
        auto ok = store_base_snapshots(s, topic, kd, known_seq);
        if (!ok) return std::unexpected(ok.error());
        if (*ok) ready.push_back(&kd);
        if (auto renewed = lease->renew_if_due(); !renewed) return std::unexpected(renewed.error());
    }

    std::vector<seq_t> dropped = plan.keyless;
    for (const auto* kd : ready) {
        report.retained_out += kd->retained_out;
        report.compacted += kd->compacted;
        dropped.insert(dropped.end(), kd->seqs.begin(), kd->seqs.end());
    }
    report.retained_out += static_cast<std::int64_t>(plan.keyless.size());
    report.keys = static_cast<std::int64_t>(ready.size());
    std::sort(dropped.begin(), dropped.end());
    report.groups_behind = behind_of(*groups, dropped);
    for (const auto& g : report.groups_behind) {
        spdlog::warn(
            "retention: group {} of topic {} had not read {} of the events this pass "
            "drops (behind = skip); it continues after them",
            g.group, topic, g.unseen_dropped);
    }

    progress.examined = report.examined;
    if (auto ok = delete_in_batches(s, topic, ready, plan.keyless, o.batch_events, *lease, progress,
                                    o.on_progress);
        !ok) {
        return std::unexpected(ok.error());
    }
    return finish();
}

}  // namespace prom::retention
