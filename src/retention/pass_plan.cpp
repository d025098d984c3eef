#include "retention/pass_plan.hpp"

#include <algorithm>
#include <map>

namespace prom::retention {

std::vector<seq_t> pass_plan::all_seqs() const {
    std::vector<seq_t> out = keyless;
    for (const auto& k : keys) out.insert(out.end(), k.seqs.begin(), k.seqs.end());
    std::sort(out.begin(), out.end());
    return out;
}

namespace {

// How many of the oldest events (seq order) `retain` drops.
std::size_t retained_prefix(const std::vector<event_ref>& events, const retain_rule& r, ts_ms now) {
    std::size_t prefix = 0;
    if (r.max_events && *r.max_events > 0 &&
        static_cast<std::int64_t>(events.size()) > *r.max_events) {
        prefix = events.size() - static_cast<std::size_t>(*r.max_events);
    }
    if (r.max_age) {
        const ts_ms cutoff = now - r.max_age->count();
        std::size_t aged = 0;
        while (aged < events.size() && events[aged].ts < cutoff) ++aged;
        prefix = std::max(prefix, aged);
    }
    return prefix;
}

}  // namespace

pass_plan plan_pass(const topic_index& index, const policy& p, ts_ms now,
                    std::optional<seq_t> keep_after) {
    const auto& events = index.events;
    const auto may_drop = [&](const event_ref& e) { return !keep_after || e.seq <= *keep_after; };

    // Per key: what goes and why. Indexed by the key's number.
    struct key_work {
        std::vector<std::pair<seq_t, position>> drops;
        std::int64_t retained_out = 0, compacted = 0;
    };
    std::map<std::uint32_t, key_work> work;
    pass_plan plan;

    std::size_t prefix = p.retain ? retained_prefix(events, *p.retain, now) : 0;
    // behind = wait: the prefix stops at the first event some group has not acknowledged.
    // And at the first event stamped after `now`: dropping it would raise the horizon past
    // the clock, and every event stamped with the server's clock would then be refused as
    // late (found from outside: one event dated 9999 and `max_events` shut the topic for
    // good; a producer two minutes ahead, for two minutes). It goes once the clock passes it.
    // Compaction drops only events older than now - horizon, so the horizon stays <= now.
    std::size_t first = 0;
    for (; first < prefix && may_drop(events[first]) && events[first].ts <= now; ++first) {
        const auto& e = events[first];
        if (e.key) {
            auto& w = work[*e.key];
            w.drops.push_back({e.seq, {e.ts, e.seq}});
            ++w.retained_out;
        } else {
            plan.keyless.push_back(e.seq);
        }
        ++plan.retained_out;
    }

    if (p.compact) {
        const ts_ms cutoff = now - p.compact->horizon.count();
        // The remaining events of each key: the latest (by seq) and the last before the
        // cutoff in (ts, seq) order stay; the other ones before the cutoff go.
        std::map<std::uint32_t, std::vector<const event_ref*>> per_key;
        for (std::size_t i = first; i < events.size(); ++i) {
            if (events[i].key) per_key[*events[i].key].push_back(&events[i]);
        }
        for (auto& [key, evs] : per_key) {
            const seq_t latest = evs.back()->seq;  // seq order
            const event_ref* last_before = nullptr;
            for (const auto* e : evs) {
                if (e->ts < cutoff &&
                    (!last_before ||
                     position{e->ts, e->seq} > position{last_before->ts, last_before->seq})) {
                    last_before = e;
                }
            }
            if (!last_before) continue;
            for (const auto* e : evs) {
                if (e->ts >= cutoff || e == last_before || e->seq == latest || !may_drop(*e)) {
                    continue;
                }
                auto& w = work[key];
                w.drops.push_back({e->seq, {e->ts, e->seq}});
                ++w.compacted;
                ++plan.compacted;
            }
        }
    }

    for (auto& [key, w] : work) {
        key_drops kd;
        kd.key = index.keys[key];
        kd.retained_out = w.retained_out;
        kd.compacted = w.compacted;
        kd.gone_from = ts_ms::max();
        for (const auto& [seq, pos] : w.drops) {
            kd.seqs.push_back(seq);
            kd.gone_from = std::min(kd.gone_from, pos.first);
            kd.base = std::max(kd.base, pos);
        }
        std::sort(kd.seqs.begin(), kd.seqs.end());
        plan.greatest_ts = std::max(plan.greatest_ts.value_or(kd.base.first), kd.base.first);
        plan.keys.push_back(std::move(kd));
    }
    for (std::size_t i = 0; i < first; ++i) {
        if (!events[i].key) {
            plan.greatest_ts = std::max(plan.greatest_ts.value_or(events[i].ts), events[i].ts);
        }
    }
    std::sort(plan.keys.begin(), plan.keys.end(),
              [](const key_drops& a, const key_drops& b) { return a.key < b.key; });
    return plan;
}

}  // namespace prom::retention
