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

// Event ids are at most 256 bytes: a longer derived id is replaced by a stable hash of it.
std::string bounded_id(std::string id) {
    if (id.size() <= 256) return id;
    std::string h = etag_of(id);
    return "h:" + h.substr(1, h.size() - 2);
}

std::string derived_state_id(std::string_view heartbeat_id) {
    return bounded_id("state-of:" + std::string(heartbeat_id));
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
    if (const json::value* given = field(p, "processId");
        given && given->is_string() && !given->get_string().empty()) {
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
    out.id = derived_state_id(hb.id);
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
    json::object doc = p;
    doc.erase("_key");
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
            in.id = bounded_id("stale:" + d.key + ":" + std::to_string(seen->get_int64()));
            in.key = d.key;
            in.ts = now;
            in.payload = std::move(o);
            stale.push_back(std::move(in));
        }
        if (docs->size() < q.limit) break;
        q.offset += q.limit;
    }
    if (stale.empty()) return 0;
    auto r = s.append(std::move(stale));
    if (!r) return std::unexpected(r.error());
    std::uint64_t fresh = 0;
    for (auto& a : *r) fresh += a.duplicate ? 0 : 1;
    return fresh;
}

}  // namespace prom::process
