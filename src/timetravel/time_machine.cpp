// Reconstruction of a key's state at T: nearest snapshot, then the events after it.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <exception>

#include "core/key_limit.hpp"
#include "core/topic_name.hpp"
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

using position = std::pair<ts_ms, seq_t>;

position position_of(const fold_state& f) { return {f.ts, f.seq}; }

// Folds the key's events after `fold`'s position (all of them when there is no fold yet)
// with ts <= to_ts and, when `through` is given, a position <= through. Every
// `snapshot_every`-th event of the key (0: none) is recorded in `crossed`.
status fold_events(store& s, std::string_view topic, std::string_view key, const reducer& r,
                   std::optional<fold_state>& fold, ts_ms to_ts, std::optional<position> through,
                   std::size_t page_size, std::int64_t snapshot_every,
                   std::vector<state_snapshot>* crossed) {
    const std::size_t page = std::max<std::size_t>(page_size, 1);  // 0 would never end
    key_time_query q{std::string(topic), std::string(key), std::nullopt, to_ts, page};
    if (fold) q.after = position_of(*fold);
    for (;;) {
        auto events = scan_key_by_time_fitting(s, q);  // may lower q.limit (large events)
        if (!events) return std::unexpected(events.error());
        for (const auto& e : *events) {
            if (through && position{e.ts, e.seq} > *through) return {};
            if (!fold) fold.emplace();
            auto next = apply_reducer(r, std::move(fold->state), e);
            if (!next) return std::unexpected(next.error());
            fold->state = std::move(*next);
            fold->ts = e.ts;
            fold->seq = e.seq;
            ++fold->count;
            if (crossed && snapshot_every > 0 && fold->count % snapshot_every == 0) {
                crossed->push_back({e.ts, e.seq, fold->count, canonical_json(fold->state)});
            }
        }
        if (events->size() < *q.limit) return {};
        q.after = std::pair{events->back().ts, events->back().seq};
    }
}

// The stored snapshot of (topic, key, r) at or before `t` as a fold to continue; none when
// there is none. A snapshot is only a cache: one that does not parse is skipped, not fatal.
result<std::optional<fold_state>> stored_fold(store& s, std::string_view topic,
                                              std::string_view key, const reducer& r, ts_ms t) {
    auto snap = s.snapshot_at_or_before(topic, key, r.name, t);
    if (!snap) return std::unexpected(snap.error());
    if (!*snap) return std::optional<fold_state>{};
    auto state = parse_stored_json((*snap)->state);
    if (!state) {
        spdlog::warn("time travel: snapshot of {}/{} at seq {} does not parse; ignored", topic, key,
                     (*snap)->seq.value);
        return std::optional<fold_state>{};
    }
    return std::optional<fold_state>{
        fold_state{std::move(*state), (*snap)->ts, (*snap)->seq, (*snap)->count}};
}

std::unexpected<error> gone_between(std::string_view topic, std::string_view key, ts_ms t,
                                    const key_horizon& h) {
    error e{errc::gone, "gone: retention dropped events of key '" + std::string(key) +
                            "' of topic '" + std::string(topic) + "' between " +
                            to_string(h.gone_from) + " and " + to_string(h.base_ts) +
                            "; its state at " + to_string(t) +
                            " is no longer known (answered again from " + to_string(h.base_ts) +
                            ", exactly as before; docs/time-travel.md)"};
    e.horizon = h.base_ts.value;
    return std::unexpected(std::move(e));
}

bool same_horizon(const std::optional<key_horizon>& a, const std::optional<key_horizon>& b) {
    if (a.has_value() != b.has_value()) return false;
    if (!a) return true;
    return a->gone_from == b->gone_from && a->base_ts == b->base_ts && a->base_seq == b->base_seq;
}

// The key's record, read only when the topic has a horizon (no pass ever dropped an event
// of a topic without one), so topics without retention pay one read less.
result<std::optional<key_horizon>> horizon_of(store& s, std::string_view topic,
                                              std::string_view key, ts_ms topic_horizon) {
    if (topic_horizon.value == 0) return std::optional<key_horizon>{};
    return s.find_key_horizon(topic, key);
}

// One attempt at an answer. `raced`: a retention pass dropped events of the key while this
// one folded (its key_horizon moved), so the fold may have missed some: answer again.
struct attempt {
    std::optional<state_at> state;
    bool raced = false;
};

result<attempt> answer_once(store& s, const time_travel_options& options, std::string_view topic,
                            std::string_view key, ts_ms t, const reducer& r) {
    const bool read_snaps = options.use_snapshots && !r.name.empty();
    const bool write_snaps = read_snaps && options.snapshot_every > 0;

    // Read before anything else: put_snapshots uses last_seq to reject snapshots that a late
    // append, racing with this fold, would make stale (see store.hpp); a pass raises the
    // horizon before it drops anything, so a horizon of 0 here means nothing was dropped yet.
    auto info = s.topic(topic);
    if (!info) return std::unexpected(info.error());
    if (!*info) return attempt{};
    const seq_t known_seq = (*info)->last_seq;
    auto kh = horizon_of(s, topic, key, (*info)->horizon);
    if (!kh) return std::unexpected(kh.error());

    bool need_base = false;
    if (*kh) {
        const key_horizon& h = **kh;
        if (t >= h.gone_from && t < h.base_ts) return gone_between(topic, key, t, h);
        need_base = t >= h.base_ts;
    }

    std::optional<fold_state> fold;
    if (read_snaps) {
        auto stored = stored_fold(s, topic, key, r, t);
        if (!stored) return std::unexpected(stored.error());
        fold = std::move(*stored);
    }
    if (need_base) {
        // Events up to the base position may be gone: only a fold that starts at or after it
        // (a pass stores one for the built-in reducers) covers them all.
        const key_horizon& h = **kh;
        if (!fold || position_of(*fold) < position{h.base_ts, h.base_seq}) {
            return fail(errc::gone,
                        "gone: retention dropped events of key '" + std::string(key) +
                            "' of topic '" + std::string(topic) + "' up to " +
                            to_string(h.base_ts) + " and reducer '" + r.name +
                            "' has no snapshot there to answer from (the built-in reducers "
                            "replace and merge have one; docs/time-travel.md)");
        }
    }

    const std::optional<position> start =
        fold ? std::optional<position>(position_of(*fold)) : std::nullopt;
    std::vector<state_snapshot> crossed;
    auto folded = fold_events(s, topic, key, r, fold, t, std::nullopt, options.page_size,
                              write_snaps ? options.snapshot_every : 0, &crossed);
    if (!folded) return std::unexpected(folded.error());

    // A pass deletes a key's events and merges its key_horizon in one transaction, and raises
    // the topic's horizon before: an unchanged record means no event this fold needed went
    // while it read (a deletion inside the old record's range changes no answer), so the
    // answer and the snapshots crossed are folds of the whole history. A record that moved
    // says where the deleted events lie (within it): below its gone_from, or from a start at
    // or after its base, the fold read none of them; in between, the answer is gone now.
    auto after = s.topic(topic);
    if (!after) return std::unexpected(after.error());
    auto kh_after = horizon_of(s, topic, key, *after ? (*after)->horizon : ts_ms{});
    if (!kh_after) return std::unexpected(kh_after.error());
    if (!same_horizon(*kh, *kh_after)) {
        if (!*kh_after) return attempt{.raced = true};  // erased meanwhile
        const key_horizon& h = **kh_after;
        if (t >= h.gone_from && t < h.base_ts) return gone_between(topic, key, t, h);
        const bool untouched =
            t < h.gone_from || (start && *start >= position{h.base_ts, h.base_seq});
        if (!untouched) return attempt{.raced = true};
    }

    if (!crossed.empty()) {
        // Best effort: a read-only database or a busy writer costs speed later, not this answer.
        if (auto ok = s.put_snapshots(topic, key, r.name, known_seq, crossed); !ok) {
            spdlog::debug("time travel: snapshots of {}/{} not stored: {}", topic, key,
                          ok.error().message);
        }
    }
    if (!fold) return attempt{};
    return attempt{state_at{std::move(fold->state), fold->ts, fold->seq}};
}

// Among the keys' records, the first instant >= t at which none is gone, if some is at t.
std::optional<ts_ms> gone_until(const std::vector<key_horizon>& horizons, ts_ms t) {
    bool moved = false;
    for (;;) {
        ts_ms next = t;
        for (const auto& h : horizons) {
            if (t >= h.gone_from && t < h.base_ts) next = std::max(next, h.base_ts);
        }
        if (next == t) return moved ? std::optional<ts_ms>(t) : std::nullopt;
        t = next;
        moved = true;
    }
}

}  // namespace

result<std::optional<state_at>> time_machine::at(std::string_view topic, std::string_view key,
                                                 ts_ms t, const reducer& r) {
    if (!r.apply) return fail(errc::invalid_argument, "reducer '" + r.name + "' has no function");
    if (auto why = topic_name_problem(topic)) return fail(errc::invalid_argument, *why);
    if (key.empty()) {
        // docs/http-api.md: "key":"" means no key, exactly like an absent key.
        return fail(errc::invalid_argument,
                    "a key is required: events without a key (absent or \"\") belong to no "
                    "key and have no state");
    }
    if (auto why = key_problem(key)) return fail(errc::invalid_argument, *why);
    // A pass drops a key's events in a few transactions, and a retry starts from the snapshot
    // the pass stored at the key's new base: a handful of retries ends.
    constexpr int attempts = 16;
    for (int i = 0; i < attempts; ++i) {
        auto a = answer_once(store_, options_, topic, key, t, r);
        if (!a) return std::unexpected(a.error());
        if (!a->raced) return std::move(a->state);
    }
    return fail(errc::unavailable, "a retention pass keeps dropping events of key '" +
                                       std::string(key) + "' of topic '" + std::string(topic) +
                                       "': try again");
}

status time_machine::at_all(std::string_view topic, ts_ms t, const reducer& r,
                            const key_state_callback& callback) {
    if (auto why = topic_name_problem(topic)) return fail(errc::invalid_argument, *why);
    // The keys with a latest event, in pages (a topic may have millions), merged in key order
    // with the keys of retention's records, which add those whose every event was dropped.
    std::vector<std::string> recorded;
    auto info = store_.topic(topic);
    if (!info) return std::unexpected(info.error());
    if (*info && (*info)->horizon.value != 0) {
        auto horizons = store_.key_horizons(topic);
        if (!horizons) return std::unexpected(horizons.error());
        // Refused before the first callback, so a caller never streams half an answer.
        if (auto until = gone_until(*horizons, t)) {
            error e{errc::gone, "gone: retention dropped events of some keys of topic '" +
                                    std::string(topic) + "' before " + to_string(*until) +
                                    "; their states at " + to_string(t) +
                                    " are no longer known (every key is answered again from " +
                                    to_string(*until) + "; docs/time-travel.md)"};
            e.horizon = until->value;
            return std::unexpected(std::move(e));
        }
        for (auto& h : *horizons) {
            if (!h.key.empty()) recorded.push_back(std::move(h.key));
        }
        std::ranges::sort(recorded);
    }
    auto next_recorded = recorded.begin();
    // Answers `key` unless it is the one answered last; false once the caller has enough.
    std::string last;
    auto answer = [&](std::string key) -> result<bool> {
        if (!last.empty() && key == last) return true;
        last = key;
        auto s = at(topic, key, t, r);
        if (!s) return std::unexpected(s.error());
        if (!*s) return true;
        return callback(keyed_state{std::move(key), std::move((*s)->state), (*s)->ts, (*s)->seq});
    };
    constexpr std::size_t key_page = 1000;
    std::string after;
    for (;;) {
        auto keys = store_.topic_keys(topic, after, key_page);
        if (!keys) return std::unexpected(keys.error());
        for (auto& key : *keys) {
            for (; next_recorded != recorded.end() && *next_recorded <= key; ++next_recorded) {
                auto more = answer(std::move(*next_recorded));
                if (!more) return std::unexpected(more.error());
                if (!*more) return {};
            }
            after = key;
            auto more = answer(std::move(key));
            if (!more) return std::unexpected(more.error());
            if (!*more) return {};
        }
        if (keys->size() < key_page) break;
    }
    for (; next_recorded != recorded.end(); ++next_recorded) {
        auto more = answer(std::move(*next_recorded));
        if (!more) return std::unexpected(more.error());
        if (!*more) return {};
    }
    return {};
}

result<state_snapshot> time_machine::snapshot_through(
    std::string_view topic, std::string_view key, const reducer& r, std::pair<ts_ms, seq_t> through,
    std::optional<std::pair<ts_ms, seq_t>> valid_from) {
    if (!r.apply || r.name.empty()) {
        return fail(errc::gone, "reducer '" + r.name + "' keeps no snapshots");
    }
    // The latest snapshot at or before `through`'s ts. One at the same ts that sorts after it
    // (a higher seq) serves as well: for every t >= through's ts it is at or after `through`.
    auto start = stored_fold(store_, topic, key, r, through.first);
    if (!start) return std::unexpected(start.error());
    if (*start && position_of(**start) > through) {
        const fold_state& f = **start;
        return state_snapshot{f.ts, f.seq, f.count, canonical_json(f.state)};
    }
    std::optional<fold_state> fold = std::move(*start);
    if (valid_from && (!fold || position_of(*fold) < *valid_from)) {
        return fail(errc::gone,
                    "no snapshot of '" + r.name + "' for key '" + std::string(key) +
                        "' of topic '" + std::string(topic) + "' at or after its base position " +
                        to_string(valid_from->first) + "/" + to_string(valid_from->second));
    }
    auto folded = fold_events(store_, topic, key, r, fold, through.first, through,
                              options_.page_size, 0, nullptr);
    if (!folded) return std::unexpected(folded.error());
    if (!fold || position_of(*fold) != through) {
        return fail(errc::not_found, "key '" + std::string(key) + "' of topic '" +
                                         std::string(topic) + "' has no event at " +
                                         to_string(through.first) + "/" +
                                         to_string(through.second));
    }
    return state_snapshot{fold->ts, fold->seq, fold->count, canonical_json(fold->state)};
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
