#include "ops/groups.hpp"

#include <map>

#include "bus/consumer_state.hpp"
#include "core/topic_name.hpp"
#include "ops/replayer.hpp"

namespace prom::ops {

namespace {

using bus_internal::consumer_lease_name;

// The lease that makes a group active: a consumer's, or for a replay's group ("replay:DST")
// the replay's own (found from outside: a running replay's group was listed inactive, and a
// seek or delete without force broke the replay).
std::string group_lease_name(std::string_view topic, std::string_view group) {
    if (auto dst = replay_destination(group)) return replay_lease(*dst);
    return consumer_lease_name(topic, group);
}

// A forced seek holds the group's lease under this owner while the revoked consumer's lease
// runs out (seek, below): no consumer holds the group then, so it is not listed active and a
// seek needs no force; a removal waits, since the revoked consumer may still take the group
// back (found from outside: a paused group showed "active" held by "prom-seek:…", and its
// removal was refused with "stop its consumer first" when no consumer was left).
constexpr std::string_view seek_pause_owner = "prom-seek:";

bool is_seek_pause(const lease_status& l) { return l.owner.starts_with(seek_pause_owner); }

bool is_consumer(const lease_status& l) { return l.remaining.count() > 0 && !is_seek_pause(l); }

// Live consumer and replay leases by name: the groups active right now.
result<std::map<std::string, std::string, std::less<>>> live_consumer_leases(store& s) {
    std::map<std::string, std::string, std::less<>> out;
    const std::string replays = replay_lease("");
    for (std::string_view prefix :
         {bus_internal::consumer_lease_prefix, std::string_view(replays)}) {
        auto leases = s.list_leases(prefix);
        if (!leases) return std::unexpected(leases.error());
        for (auto& l : *leases) {
            if (is_consumer(l)) out.emplace(std::move(l.name), std::move(l.owner));
        }
    }
    return out;
}

result<std::optional<lease_status>> live_lease(store& s, const std::string& name) {
    auto leases = s.list_leases(name);
    if (!leases) return std::unexpected(leases.error());
    for (auto& l : *leases) {
        if (l.name == name && l.remaining.count() > 0) return std::optional<lease_status>{l};
    }
    return std::optional<lease_status>{};
}

// A topic name no topic can have: bad input (400, exit 2), not "not found" (found from
// outside: POST /groups/bad%20t/g/seek answered 404).
std::optional<error> bad_topic_name(std::string_view topic) {
    if (auto why = topic_name_problem(topic)) return error{errc::invalid_argument, *why};
    return std::nullopt;
}

error no_group(std::string_view topic, std::string_view group) {
    return {errc::not_found,
            "no consumer group '" + std::string(group) + "' on topic '" + std::string(topic) + "'"};
}

}  // namespace

result<std::vector<group_info>> list_groups(store& s, ts_ms now) {
    auto cursors = s.list_cursors();
    if (!cursors) return std::unexpected(cursors.error());
    auto live = live_consumer_leases(s);
    if (!live) return std::unexpected(live.error());
    std::vector<group_info> out;
    out.reserve(cursors->size());
    for (auto& c : *cursors) {
        group_info g;
        g.topic = std::move(c.topic);
        g.group = std::move(c.group);
        g.cursor = c.seq;
        g.last_seq = c.topic_last_seq;
        g.lag_events = c.topic_last_seq > c.seq ? c.topic_last_seq - c.seq : 0;
        // The oldest unacknowledged event is the next one in seq order: its wait is the lag.
        if (g.lag_events > 0 && c.next_ts && now > *c.next_ts) {
            g.lag_seconds = static_cast<double>(now - *c.next_ts) / 1000.0;
        }
        g.last_ack = c.acked_at;
        if (auto it = live->find(group_lease_name(g.topic, g.group)); it != live->end()) {
            g.holder = it->second;
        }
        out.push_back(std::move(g));
    }
    return out;
}

json::object to_json(const group_info& g) {
    json::object o;
    o["topic"] = g.topic;
    o["group"] = g.group;
    o["cursor"] = g.cursor.value;
    o["last_seq"] = g.last_seq.value;
    o["lag_events"] = g.lag_events;
    o["lag_seconds"] = g.lag_seconds;
    o["active"] = g.holder.has_value();
    o["holder"] = g.holder ? json::value(*g.holder) : json::value(nullptr);
    o["last_ack"] = g.last_ack ? json::value(g.last_ack->value) : json::value(nullptr);
    return o;
}

result<std::vector<topic_summary>> list_topics(store& s, bool with_bytes) {
    auto topics = s.topics();
    if (!topics) return std::unexpected(topics.error());
    std::map<std::string, std::int64_t, std::less<>> counts;
    for (const auto& t : *topics) counts[t.topic] = t.count;
    std::map<std::string, std::int64_t, std::less<>> bytes;
    if (with_bytes) {
        auto sizes = s.topic_sizes();
        if (!sizes) return std::unexpected(sizes.error());
        for (const auto& z : *sizes) bytes[z.topic] = z.bytes;
    }
    std::vector<topic_summary> out;
    for (const auto& t : *topics) {
        topic_summary sum{.topic = t.topic, .events = t.count, .last_seq = t.last_seq};
        sum.horizon = t.horizon;
        if (with_bytes) {
            auto b = bytes.find(t.topic);
            sum.bytes = b != bytes.end() ? b->second : 0;
        }
        if (t.last_seq > 0) {
            auto last = s.scan({.topic = t.topic, .from_seq = t.last_seq, .limit = 1});
            if (!last) return std::unexpected(last.error());
            if (!last->empty()) sum.last_ts = last->front().ts;
        }
        if (auto d = counts.find(t.topic + ".dlq"); d != counts.end()) sum.dead_letters = d->second;
        out.push_back(std::move(sum));
    }
    return out;
}

json::object to_json(const topic_summary& t) {
    json::object o;
    o["topic"] = t.topic;
    o["events"] = t.events;
    o["last_seq"] = t.last_seq.value;
    o["last_ts"] = t.last_ts ? json::value(t.last_ts->value) : json::value(nullptr);
    o["dead_letters"] = t.dead_letters;
    if (t.bytes) o["bytes"] = *t.bytes;
    o["horizon"] = t.horizon.value > 0 ? json::value(t.horizon.value) : json::value(nullptr);
    return o;
}

result<seek_request> parse_seek_request(const json::value& body) {
    if (!body.is_object()) {
        return fail(errc::invalid_argument, "a seek body is a JSON object");
    }
    seek_request req;
    int targets = 0;
    for (const auto& kv : body.get_object()) {
        const auto& v = kv.value();
        if (kv.key() == "seq") {
            if (!v.is_int64() && !v.is_uint64()) {
                return fail(errc::invalid_argument, "\"seq\" must be an integer");
            }
            if (v.is_uint64() && v.get_uint64() > static_cast<std::uint64_t>(INT64_MAX)) {
                return fail(errc::invalid_argument, "\"seq\" is out of range");
            }
            req.target = {seek_target::kind::seq,
                          v.is_int64() ? v.get_int64() : static_cast<std::int64_t>(v.get_uint64())};
            ++targets;
        } else if (kv.key() == "ts") {
            std::int64_t ts = 0;
            if (v.is_int64() || v.is_string()) {
                // Epoch ms through the same rule as a string: only times events can have
                // (found from outside: -1 was taken here and refused by the CLI).
                auto t = parse_time(v.is_int64() ? std::to_string(v.get_int64())
                                                 : std::string(v.get_string()));
                if (!t) return std::unexpected(t.error());
                ts = t->value;
            } else {
                return fail(errc::invalid_argument,
                            "\"ts\" is epoch milliseconds or an ISO-8601 string");
            }
            req.target = {seek_target::kind::ts, ts};
            ++targets;
        } else if (kv.key() == "to") {
            if (v.is_string() && v.get_string() == "earliest") {
                req.target = {seek_target::kind::earliest, 0};
            } else if (v.is_string() && v.get_string() == "latest") {
                req.target = {seek_target::kind::latest, 0};
            } else {
                return fail(errc::invalid_argument, "\"to\" is \"earliest\" or \"latest\"");
            }
            ++targets;
        } else if (kv.key() == "force") {
            if (!v.is_bool()) return fail(errc::invalid_argument, "\"force\" is a boolean");
            req.force = v.get_bool();
        } else {
            return fail(errc::invalid_argument,
                        "unknown field \"" + std::string(kv.key()) +
                            "\" (a seek takes one of seq, ts, to, and force)");
        }
    }
    if (targets != 1) {
        return fail(errc::invalid_argument, "a seek takes exactly one of \"seq\", \"ts\", \"to\"");
    }
    return req;
}

result<seek_outcome> seek(store& s, std::string_view topic, std::string_view group,
                          const seek_target& target, bool force) {
    if (auto bad = bad_topic_name(topic)) return std::unexpected(std::move(*bad));
    // A group exists once it has a cursor, even on a topic with no event yet (a consumer
    // subscribed from `earliest` to a topic not yet published to): GET /groups lists it, so
    // it can be sought too, its topic's last seq then 0 (found from outside: 404).
    auto cur = s.cursor(topic, group);
    if (!cur) return std::unexpected(cur.error());
    auto t = s.topic(topic);
    if (!t) return std::unexpected(t.error());
    if (!*cur) {
        // Named as the group, which is what was asked for; a topic without events may still
        // have other groups (found from outside: "no topic" for a typo in the group's name).
        error e = no_group(topic, group);
        if (!*t) e.message += " (the topic has no events yet)";
        return std::unexpected(std::move(e));
    }
    const seq_t last = *t ? (*t)->last_seq : seq_t{};

    // Where to, checked before anything changes.
    seq_t to{};
    switch (target.what) {
        case seek_target::kind::seq:
            if (target.value < 0) return fail(errc::invalid_argument, "a seq is never negative");
            if (target.value > last) {
                return fail(errc::invalid_argument,
                            "cannot seek to seq " + std::to_string(target.value) +
                                ": the last seq of topic '" + std::string(topic) + "' is " +
                                to_string(last));
            }
            to = seq_t{target.value};
            break;
        case seek_target::kind::ts: {
            // The next event delivered is the first, in seq order, with ts >= T.
            auto first =
                s.scan({.topic = std::string(topic), .from_ts = ts_ms{target.value}, .limit = 1});
            if (!first) return std::unexpected(first.error());
            to = first->empty() ? last : first->front().seq - 1;
            break;
        }
        case seek_target::kind::earliest:
            to = seq_t{};
            break;
        case seek_target::kind::latest:
            to = last;
            break;
    }

    const std::string lease = group_lease_name(topic, group);
    auto held = live_lease(s, lease);
    if (!held) return std::unexpected(held.error());
    seek_outcome out{.previous = **cur, .seq = to};
    if (*held && !is_seek_pause(**held)) {
        if (!force) {
            return fail(errc::conflict,
                        "consumer group '" + std::string(group) + "' on topic '" +
                            std::string(topic) + "' is active (held by " + (*held)->owner +
                            "); stop it first, or force the move to revoke its lease (--force; "
                            "\"force\": true over HTTP)");
        }
        auto ttl = (*held)->remaining + std::chrono::milliseconds(1000);
        if (auto ok = s.seize_lease(lease, std::string(seek_pause_owner) + new_event_id(), ttl);
            !ok) {
            return std::unexpected(ok.error());
        }
        out.revoked = true;
    }
    if (auto ok = s.set_cursor(topic, group, to); !ok) return std::unexpected(ok.error());
    return out;
}

status remove_group(store& s, std::string_view topic, std::string_view group) {
    if (auto bad = bad_topic_name(topic)) return std::unexpected(std::move(*bad));
    auto cur = s.cursor(topic, group);
    if (!cur) return std::unexpected(cur.error());
    if (!*cur) return std::unexpected(no_group(topic, group));
    auto held = live_lease(s, group_lease_name(topic, group));
    if (!held) return std::unexpected(held.error());
    if (*held && is_seek_pause(**held)) {
        return fail(errc::conflict,
                    "consumer group '" + std::string(group) + "' on topic '" + std::string(topic) +
                        "' is paused by a forced seek for " +
                        std::to_string((*held)->remaining.count()) +
                        " ms more: the consumer it revoked, if it still runs, takes the group "
                        "back then; remove the group after that");
    }
    if (*held) {
        return fail(errc::conflict, "consumer group '" + std::string(group) + "' on topic '" +
                                        std::string(topic) + "' is active (held by " +
                                        (*held)->owner + "); stop its consumer first");
    }
    auto gone = s.delete_cursor(topic, group);
    if (!gone) return std::unexpected(gone.error());
    if (!*gone) return std::unexpected(no_group(topic, group));
    return {};
}

}  // namespace prom::ops
