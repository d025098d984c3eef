#include "userproj_runtime/emit_loops.hpp"

#include <map>
#include <set>

#include "prom/user_projector.hpp"

namespace prom::userproj {

namespace {

struct node {
    std::string topic;               // what it consumes: a topic or a prefix pattern
    std::vector<std::string> emits;  // the topics of its declarative emits
};

node node_of(const json::object& def) {
    node n;
    if (auto t = def.find("topic"); t != def.end() && t->value().is_string()) {
        n.topic = t->value().get_string();
    }
    if (auto e = def.find("emit"); e != def.end() && e->value().is_array()) {
        for (const auto& item : e->value().get_array()) {
            const json::object* o = item.if_object();
            if (!o) continue;
            if (auto t = o->find("topic"); t != o->end() && t->value().is_string()) {
                n.emits.emplace_back(t->value().get_string());
            }
        }
    }
    return n;
}

std::string name_of(const json::object& def) {
    auto n = def.find("name");
    return n != def.end() && n->value().is_string() ? std::string(n->value().get_string()) : "";
}

}  // namespace

std::vector<std::string> emit_loop(const json::object& candidate,
                                   const std::vector<registry_entry>& stored) {
    const std::string start = name_of(candidate);
    std::map<std::string, node> graph;
    // Every definition that runs or will: the serving ones and the pending rebuilds (which
    // project alongside until their swap), the candidate in place of its name's.
    for (const auto& e : stored) {
        if (e.deleted || e.name == start) continue;
        graph[e.name] = node_of(e.definition);
        if (e.rebuild) graph[e.name + " (rebuild)"] = node_of(e.rebuild->definition);
    }
    graph[start] = node_of(candidate);
    // Depth-first from the candidate along "emits into the topic of": a path back to it is
    // the loop. Each definition is entered once (a loop not through the candidate was
    // refused when it closed, or holds a Lua definition this cannot see).
    std::vector<std::string> path{start};
    std::set<std::string> seen{start};
    auto walk = [&](auto& self, const std::string& at) -> bool {
        for (const auto& topic : graph[at].emits) {
            for (const auto& [name, n] : graph) {
                if (n.topic.empty() || !topic_matches(n.topic, topic)) continue;
                if (name == start) {
                    path.push_back(start);
                    return true;
                }
                if (!seen.insert(name).second) continue;
                path.push_back(name);
                if (self(self, name)) return true;
                path.pop_back();
            }
        }
        return false;
    };
    return walk(walk, start) ? path : std::vector<std::string>{};
}

}  // namespace prom::userproj
