#include "userproj_runtime/projector_status.hpp"

namespace prom::userproj {

namespace {

std::string pattern_of(const json::object& definition) {
    auto it = definition.find("topic");
    return it != definition.end() && it->value().is_string() ? std::string(it->value().get_string())
                                                             : std::string();
}

struct progress {
    json::object cursors;
    std::int64_t cursor = 0;  // sum of `cursors`: one number a dashboard can plot against `lag`
    std::int64_t lag = 0;
};

result<progress> progress_of(store& s, const std::vector<topic_info>& topics,
                             const std::string& pattern, const std::string& group) {
    progress p;
    for (const auto& t : topics) {
        if (!covers_topic(pattern, t.topic)) continue;
        auto c = s.cursor(t.topic, group);
        if (!c) return std::unexpected(c.error());
        seq_t at = c->value_or(seq_t{});
        p.cursors[t.topic] = at.value;
        p.cursor += at.value;
        p.lag += std::max<std::int64_t>(0, t.last_seq - at);
    }
    return p;
}

}  // namespace

std::string_view state_of(const registry_entry& e, const definition_runtime* runtime) {
    if (e.failed || (runtime && !runtime->error.empty())) return "failed";
    if (e.rebuild) return "rebuilding";
    if (runtime && runtime->generation == e.generation && !runtime->running) return "stopped";
    return "running";
}

result<json::object> status_json(store& s, const registry_entry& e,
                                 const definition_runtime* runtime, bool with_definition) {
    if (runtime && runtime->generation != e.generation) runtime = nullptr;  // not caught up yet
    auto topics = s.topics();
    if (!topics) return std::unexpected(topics.error());
    json::object o;
    o["name"] = e.name;
    o["version"] = e.version;
    o["state"] = state_of(e, runtime);
    o["topic"] = pattern_of(e.definition);
    o["group"] = e.group;
    auto serving = progress_of(s, *topics, pattern_of(e.definition), e.group);
    if (!serving) return std::unexpected(serving.error());
    o["cursor"] = serving->cursor;
    o["cursors"] = std::move(serving->cursors);
    o["lag"] = serving->lag;
    std::uint64_t applied = 0, errors = 0, dead = 0;
    std::string last_error;
    if (runtime) {
        for (const auto& t : runtime->serving) {
            applied += t.applied;
            errors += t.errors;
            dead += t.dead_lettered;
            if (!t.last_error.empty()) last_error = "topic " + t.topic + ": " + t.last_error;
        }
        if (!runtime->error.empty()) last_error = runtime->error;
    }
    if (e.failed) last_error = e.failed->error;
    o["applied"] = applied;
    o["errors"] = errors;
    o["dead_lettered"] = dead;
    o["last_error"] = last_error.empty() ? json::value(nullptr) : json::value(last_error);
    json::object cols;
    for (const auto& [logical, physical] : e.collections) cols[logical] = physical;
    o["collections"] = std::move(cols);
    if (e.rebuild) {
        json::object r;
        r["version"] = e.rebuild->version;
        r["group"] = e.rebuild->group;
        auto p = progress_of(s, *topics, pattern_of(e.rebuild->definition), e.rebuild->group);
        if (!p) return std::unexpected(p.error());
        r["cursor"] = p->cursor;
        r["cursors"] = std::move(p->cursors);
        r["lag"] = p->lag;
        if (runtime) {
            std::uint64_t ra = 0, re = 0, rd = 0;
            for (const auto& t : runtime->rebuild) {
                ra += t.applied;
                re += t.errors;
                rd += t.dead_lettered;
            }
            r["applied"] = ra;
            r["errors"] = re;
            r["dead_lettered"] = rd;
        }
        if (with_definition) r["definition"] = e.rebuild->definition;
        o["rebuild"] = std::move(r);
    }
    if (e.rebuild_failed) {
        o["rebuild_failed"] =
            json::object{{"error", e.rebuild_failed->error}, {"at", e.rebuild_failed->at.value}};
    }
    if (with_definition) o["definition"] = e.definition;
    return o;
}

}  // namespace prom::userproj
