#include "projector/process_handlers.hpp"

#include "projector/bounded_id.hpp"
#include "retention/erasure_marker.hpp"

namespace prom::process {

namespace {

const json::value* field(const json::object& o, std::string_view name) {
    auto it = o.find(name);
    return it == o.end() ? nullptr : &it->value();
}

}  // namespace

std::string bounded_reserved_id(std::string id) {
    if (id.size() <= 256) return id;
    std::string h = etag_of(id);
    return "prom-h:" + h.substr(1, h.size() - 2);
}

// By the heartbeat's seq, which no other heartbeat ever has (an id is published again once
// retention or an erasure dropped its event), and "prom-", which no publisher can take first
// (found from outside: a published `state-of:<id>` swallowed that heartbeat).
std::string derived_state_id(const event& heartbeat) {
    return bounded_reserved_id("prom-state-of:" + std::to_string(heartbeat.seq.value));
}

status project_heartbeat(const event& hb, transaction& txn) {
    // An erased key's marker: the heartbeat projector keeps no state of its own (the process
    // documents follow the process.state events it derives), so there is nothing to drop.
    if (retention::is_erasure_marker(hb)) return {};
    if (!hb.payload.is_object())
        return fail(errc::invalid_argument, "heartbeat payload is not an object");
    const auto& p = hb.payload.get_object();
    const json::value* name = field(p, "name");
    const json::value* host = field(p, "host");
    const json::value* pid = field(p, "pid");
    if (!name || !name->is_string() || !host || !host->is_string() || !pid ||
        !(pid->is_number() || pid->is_string())) {
        return fail(errc::invalid_argument, "a heartbeat needs string name and host, and a pid");
    }
    std::string process_id;
    const json::value* given = field(p, "processId");
    if (given && !given->is_null() && (!given->is_string() || given->get_string().empty())) {
        // A processId the sender meant but got wrong is not silently replaced by the
        // default (found from outside): the heartbeat is dead-lettered, as for a bad pid.
        return fail(errc::invalid_argument, "a heartbeat's processId is a non-empty string");
    }
    if (given && given->is_string()) {
        process_id = given->get_string();
    } else {
        std::string pid_text =
            pid->is_string() ? std::string(pid->get_string()) : canonical_json(*pid);
        process_id = std::string(host->get_string()) + ":" + std::string(name->get_string()) + ":" +
                     pid_text;
    }
    json::object state;
    state["processId"] = process_id;
    state["pid"] = *pid;
    state["name"] = *name;
    state["host"] = *host;
    const json::value* cpu = field(p, "cpu_pct");
    const json::value* mem = field(p, "mem_mb");
    state["cpu_pct"] = cpu ? *cpu : json::value(nullptr);
    state["mem_mb"] = mem ? *mem : json::value(nullptr);
    state["status"] = "alive";
    state["last_seen"] = hb.ts.value;

    event_input out;
    out.topic = std::string(process_state_topic);
    out.id = derived_state_id(hb);
    out.key = process_id;
    out.ts = hb.ts;
    out.payload = std::move(state);
    out.headers["prom-source-id"] = hb.id;
    std::vector<event_input> one;
    one.push_back(std::move(out));
    auto r = txn.append(std::move(one));
    if (!r) return std::unexpected(r.error());
    return {};
}

status project_process_state(const event& e, transaction& txn) {
    // An erased key (docs/retention.md): its process document is the key's state, dropped
    // with it; the host's counters hold nothing of the key's payloads.
    if (retention::is_erasure_marker(e)) {
        if (auto gone = txn.delete_one(processes_collection, e.key); !gone) {
            return std::unexpected(gone.error());
        }
        return {};
    }
    if (!e.payload.is_object())
        return fail(errc::invalid_argument, "process.state payload is not an object");
    const auto& p = e.payload.get_object();
    const json::value* id = field(p, "processId");
    const json::value* host = field(p, "host");
    if (!id || !id->is_string() || id->get_string().empty() || !host || !host->is_string()) {
        return fail(errc::invalid_argument, "process.state needs string processId and host");
    }
    // Room for the members apply_update adds (`_ts` here, `_key` there) from the start: a
    // copy grown by one member re-hashed the whole object on every event.
    json::object doc(p.size() + 2);
    for (const auto& member : p) {
        if (member.key() != "_key") doc.emplace(member.key(), member.value());
    }
    doc["_ts"] = e.ts.value;
    if (auto r = txn.update(processes_collection, id->get_string(), std::move(doc), true); !r) {
        return std::unexpected(r.error());
    }
    json::object stats{{"$inc", json::object{{"seen", 1}}},
                       {"$set", json::object{{"last_ts", e.ts.value}, {"_ts", e.ts.value}}}};
    if (auto r = txn.update(host_stats_collection, host->get_string(), std::move(stats), true);
        !r) {
        return std::unexpected(r.error());
    }
    return {};
}

result<std::uint64_t> emit_stale_states(store& s, std::chrono::milliseconds stale_after,
                                        ts_ms now) {
    std::vector<event_input> stale;
    find_query q{.collection = std::string(processes_collection),
                 .equals = {{"status", "alive"}},
                 .offset = 0,
                 .limit = 1000};
    for (;;) {
        auto docs = find_fitting(s, q);
        if (!docs) return std::unexpected(docs.error());
        for (const auto& d : *docs) {
            auto v = parse_stored_json(d.body);
            if (!v || !v->is_object()) continue;
            auto& o = v->get_object();
            const json::value* seen = field(o, "last_seen");
            if (!seen || !seen->is_int64() || seen->get_int64() + stale_after.count() > now)
                continue;
            o.erase("_key");
            o.erase("_ts");
            o["status"] = "stale";
            event_input in;
            in.topic = std::string(process_state_topic);
            in.id = bounded_reserved_id("prom-stale:" + d.key + ":" +
                                        std::to_string(seen->get_int64()));
            in.key = d.key;
            in.ts = now;
            in.payload = std::move(o);
            stale.push_back(std::move(in));
        }
        if (docs->size() < q.limit) break;
        q.offset += q.limit;
    }
    std::uint64_t fresh = 0;
    // A stale state already there (a duplicate) is this one still on its way, unless the
    // process came alive after it: a heartbeat with the same last_seen arrived again (found
    // from outside: the process then stayed alive for good). That case takes a new id, named
    // after the earlier stale event, which every node computes alike.
    for (int round = 0; round < 8 && !stale.empty(); ++round) {
        auto r = s.append(stale);
        if (!r) return std::unexpected(r.error());
        std::vector<event_input> again;
        for (std::size_t i = 0; i < r->size(); ++i) {
            const auto& a = (*r)[i];
            if (!a.duplicate) {
                ++fresh;
                continue;
            }
            auto later = s.scan({.topic = std::string(process_state_topic),
                                 .key = stale[i].key,
                                 .from_seq = a.seq + 1,
                                 .limit = 1});
            if (!later || later->empty()) continue;
            event_input next = stale[i];
            next.id = bounded_reserved_id("prom-stale:" + stale[i].key +
                                          ":after:" + std::to_string(a.seq.value));
            again.push_back(std::move(next));
        }
        stale = std::move(again);
    }
    return fresh;
}

}  // namespace prom::process
