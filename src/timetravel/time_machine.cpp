// Reconstruction of a key's state at T: nearest snapshot, then the events after it.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <exception>

#include "prom/timetravel.hpp"

namespace prom {

namespace {

// One fold in progress: the state and the position and ordinal of its last event.
struct fold_state {
    json::value state;
    ts_ms ts{};
    seq_t seq{};
    std::int64_t count = 0;  // events folded so far (the snapshot's `count`)
};

// User reducers are arbitrary code: an exception must not cross our API.
result<json::value> apply_reducer(const reducer& r, json::value state, const event& e) {
    try {
        return r.apply(std::move(state), e);
    } catch (const std::exception& ex) {
        return fail(errc::internal,
                    "reducer '" + r.name + "' threw on seq " + to_string(e.seq) + ": " + ex.what());
    } catch (...) {
        return fail(errc::internal, "reducer '" + r.name + "' threw on seq " + to_string(e.seq));
    }
}

}  // namespace

result<std::optional<state_at>> time_machine::at(std::string_view topic, std::string_view key,
                                                 ts_ms t, const reducer& r) {
    if (!r.apply) return fail(errc::invalid_argument, "reducer '" + r.name + "' has no function");
    if (key.empty()) {
        // docs/http-api.md: "key":"" means no key, exactly like an absent key.
        return fail(errc::invalid_argument,
                    "a key is required: events without a key (absent or \"\") belong to no "
                    "key and have no state");
    }
    const bool read_snaps = options_.use_snapshots && !r.name.empty();
    const bool write_snaps = read_snaps && options_.snapshot_every > 0;

    // Read before anything else: put_snapshots uses it to reject snapshots that a late
    // append, racing with this fold, would make stale (see store.hpp).
    seq_t known_seq{};
    if (write_snaps) {
        auto info = store_.topic(topic);
        if (!info) return std::unexpected(info.error());
        if (!*info) return std::optional<state_at>{};
        known_seq = (*info)->last_seq;
    }

    std::optional<fold_state> fold;
    if (read_snaps) {
        auto snap = store_.snapshot_at_or_before(topic, key, r.name, t);
        if (!snap) return std::unexpected(snap.error());
        if (*snap) {
            auto state = parse_stored_json((*snap)->state);
            // A snapshot is only a cache: one that does not parse is skipped, not fatal.
            if (state) {
                fold = fold_state{std::move(*state), (*snap)->ts, (*snap)->seq, (*snap)->count};
            } else {
                spdlog::warn("time travel: snapshot of {}/{} at seq {} does not parse; ignored",
                             topic, key, (*snap)->seq.value);
            }
        }
    }

    std::vector<state_snapshot> crossed;
    const std::size_t page = std::max<std::size_t>(options_.page_size, 1);  // 0 would never end
    key_time_query q{std::string(topic), std::string(key), std::nullopt, t, page};
    if (fold) q.after = std::pair{fold->ts, fold->seq};
    for (;;) {
        auto events = store_.scan_key_by_time(q);
        if (!events) return std::unexpected(events.error());
        for (const auto& e : *events) {
            if (!fold) fold.emplace();
            auto next = apply_reducer(r, std::move(fold->state), e);
            if (!next) return std::unexpected(next.error());
            fold->state = std::move(*next);
            fold->ts = e.ts;
            fold->seq = e.seq;
            ++fold->count;
            if (write_snaps && fold->count % options_.snapshot_every == 0) {
                crossed.push_back({e.ts, e.seq, fold->count, canonical_json(fold->state)});
            }
        }
        if (events->size() < page) break;
        q.after = std::pair{events->back().ts, events->back().seq};
    }

    if (!crossed.empty()) {
        // Best effort: a read-only database or a busy writer costs speed later, not this answer.
        if (auto ok = store_.put_snapshots(topic, key, r.name, known_seq, crossed); !ok) {
            spdlog::debug("time travel: snapshots of {}/{} not stored: {}", topic, key,
                          ok.error().message);
        }
    }
    if (!fold) return std::optional<state_at>{};
    return std::optional<state_at>{state_at{std::move(fold->state), fold->ts, fold->seq}};
}

status time_machine::at_all(std::string_view topic, ts_ms t, const reducer& r,
                            const key_state_callback& callback) {
    // The latest event of each key lists the topic's keys without scanning its events.
    std::vector<std::string> keys;
    {
        auto latest = store_.latest_per_key(topic);
        if (!latest) return std::unexpected(latest.error());
        keys.reserve(latest->size());
        for (auto& e : *latest) {
            if (!e.key.empty()) keys.push_back(std::move(e.key));  // keyless events: no key
        }
    }
    std::sort(keys.begin(), keys.end());
    for (auto& key : keys) {
        auto s = at(topic, key, t, r);
        if (!s) return std::unexpected(s.error());
        if (!*s) continue;
        if (!callback(keyed_state{std::move(key), std::move((*s)->state), (*s)->ts, (*s)->seq})) {
            break;
        }
    }
    return {};
}

result<std::size_t> time_machine::build_snapshots(std::string_view topic, const reducer& r) {
    std::size_t keys = 0;
    auto ok = at_all(topic, ts_ms::max(), r, [&](const keyed_state&) {
        ++keys;
        return true;
    });
    if (!ok) return std::unexpected(ok.error());
    return keys;
}

result<json::value> at_as_json(store& s, std::string_view topic, std::string_view key, ts_ms t,
                               std::string_view reducer_name) {
    auto r = builtin_reducer(reducer_name);
    if (!r) return std::unexpected(r.error());
    time_machine tm(s);
    auto state = tm.at(topic, key, t, *r);
    if (!state) return std::unexpected(state.error());
    if (!*state) {
        return fail(errc::not_found, "no state: key '" + std::string(key) + "' of topic '" +
                                         std::string(topic) + "' has no event at or before " +
                                         to_string(t));
    }
    return json::value(to_json(**state));
}

result<json::value> at_all_as_json(store& s, std::string_view topic, ts_ms t,
                                   std::string_view reducer_name, std::size_t limit) {
    auto r = builtin_reducer(reducer_name);
    if (!r) return std::unexpected(r.error());
    time_machine tm(s);
    json::array items;
    bool truncated = false;
    auto ok = tm.at_all(topic, t, *r, [&](const keyed_state& ks) {
        if (items.size() == limit) {
            truncated = true;  // one more key has a state: the answer is not the whole topic
            return false;
        }
        items.emplace_back(to_json(ks));
        return true;
    });
    if (!ok) return std::unexpected(ok.error());
    json::object out;
    out["count"] = items.size();
    out["items"] = std::move(items);
    out["t"] = t.value;
    out["truncated"] = truncated;
    return json::value(std::move(out));
}

}  // namespace prom
