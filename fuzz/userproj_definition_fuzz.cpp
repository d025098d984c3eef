// User-defined projector definitions (src/userproj, include/prom/user_projector.hpp): the
// definition parser, then the handler of a definition that parses applied to one event on a
// fresh memory: store — declarative `where` filters, `$references`, `{path}` keys, writes and
// emits, or a Lua handler under its instruction budget and memory cap.
//
// The input is two JSON texts separated by a NUL byte: a definition and an event. The event
// is an object with any of "topic" (appended to the prefix of a pattern definition), "key",
// "id", "ts", "headers" and "payload"; any other JSON value is the payload of an event with
// no key. The event's topic always matches the definition's, so filters and writes run.
//
// Properties checked besides the sanitizers:
// - a parsed definition's stored form (`source`, as GET returns it) parses again to the
//   same name, version, topic, collections and emit topics;
// - after a successful event, every written document and every emitted event reads back as
//   JSON that parses;
// - a redelivery of the same event (same id) to a declarative definition emits nothing new
//   (emitted ids are derived from the input event's id).
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "fuzz_support.hpp"
#include "prom/store.hpp"
#include "prom/user_projector.hpp"
#include "userproj/compiled_definition.hpp"

namespace {

using namespace prom;

// Small limits: each input makes a Lua state of its own, and a chunk that loops must not
// make the fuzzer slow. The defaults (1,000,000 instructions, 64 MiB) apply at parse time.
constexpr std::uint64_t lua_budget = 20'000;
constexpr std::size_t lua_memory = 8u << 20;

event event_from(const json::value& v, const projector_definition& d) {
    event e;
    e.id = "fuzz-event";
    e.ts = ts_ms{1700000000000};
    e.seq = seq_t{1};
    std::string_view prefix = d.topic;
    bool pattern = prefix.ends_with('*');
    if (pattern) prefix.remove_suffix(1);
    e.topic = prefix;
    const json::object* o = v.if_object();
    if (!o || !o->contains("payload")) {
        e.payload = v;
        return e;
    }
    e.payload = o->at("payload");
    if (const auto* t = o->if_contains("topic"); t && t->is_string() && pattern) {
        e.topic += t->get_string();
    }
    if (const auto* k = o->if_contains("key"); k && k->is_string()) e.key = k->get_string();
    if (const auto* i = o->if_contains("id"); i && i->is_string() && !i->get_string().empty()) {
        e.id = i->get_string();
    }
    if (const auto* ts = o->if_contains("ts"); ts && ts->is_int64()) e.ts = ts_ms{ts->get_int64()};
    if (const auto* h = o->if_contains("headers"); h && h->is_object()) {
        for (const auto& m : h->get_object()) {
            if (m.value().is_string()) e.headers[m.key()] = m.value().get_string();
        }
    }
    if (!topic_matches(d.topic, e.topic)) e.topic = prefix;
    return e;
}

// PROM_FUZZ_DEBUG=1 while replaying an input: says why a definition or an event failed.
bool debugging() {
    static const bool on = std::getenv("PROM_FUZZ_DEBUG") != nullptr;
    return on;
}

// One delivery of `e` in its own transaction, committed when the handler succeeds.
bool deliver(store& s, const projector_handler& handler, const event& e) {
    auto txn = s.begin();
    if (!txn) fuzz::property_failed();
    auto ok = handler(e, **txn);
    if (debugging()) {
        std::fprintf(stderr, "event: %s\n", ok ? "applied" : ok.error().message.c_str());
    }
    if (!ok) return false;
    // The memory store's commit fails only on a store error, which would be a finding too.
    fuzz::require((*txn)->commit().has_value());
    return true;
}

// Every event in the store (only emits put events there); each renders to JSON that parses.
std::size_t emitted_count(store& s) {
    std::size_t n = 0;
    auto topics = s.topics();
    fuzz::require(topics.has_value());
    for (const auto& t : *topics) {
        auto events = s.scan({.topic = t.topic});
        fuzz::require(events.has_value());
        for (const auto& ev : *events) {
            fuzz::require(parse_json(to_json_text(ev)).has_value());
            ++n;
        }
    }
    return n;
}

void check_documents(store& s, const projector_definition& d) {
    for (const auto& c : d.collections) {
        auto docs = s.find({.collection = c, .limit = 1000});
        fuzz::require(docs.has_value());
        for (const auto& doc : *docs) fuzz::require(parse_json(doc.body).has_value());
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view text = fuzz::as_text(data, size);
    auto nul = text.find('\0');
    auto body = parse_json(text.substr(0, nul));
    if (!body) return 0;
    auto parsed = parse_projector_definition(*body);
    if (!parsed) {
        if (debugging()) {
            std::fprintf(stderr, "definition: %s at '%s'\n", parsed.error().message.c_str(),
                         parsed.error().pointer.c_str());
        }
        return 0;
    }

    // What GET /projectors/{name} returns and the registry stores parses to the same thing.
    auto again = parse_json(canonical_json(json::value(parsed->source)));
    fuzz::require(again.has_value());
    auto reparsed = parse_projector_definition(*again);
    fuzz::require(reparsed.has_value());
    fuzz::require(reparsed->name == parsed->name && reparsed->version == parsed->version &&
                  reparsed->topic == parsed->topic &&
                  reparsed->collections == parsed->collections &&
                  reparsed->emit_topics == parsed->emit_topics);

    json::value event_json;
    if (nul != std::string_view::npos) {
        auto v = parse_json(text.substr(nul + 1));
        if (!v) return 0;
        event_json = std::move(*v);
    } else {
        event_json = json::object{};
    }
    auto definition = std::make_shared<const projector_definition>(std::move(*parsed));
    event e = event_from(event_json, *definition);

    auto opened = open_store("memory:");
    if (!opened) fuzz::property_failed();
    store& s = **opened;
    user_handler_options options;
    options.lua_instruction_budget = lua_budget;
    options.lua_memory_limit = lua_memory;
    projector_handler handler = make_user_handler(definition, options);

    if (!deliver(s, handler, e)) return 0;
    check_documents(s, *definition);
    std::size_t emitted = emitted_count(s);

    // A redelivery (the projector retries a batch after a crash before its cursor commit).
    // Declarative only: a Lua handler may keep globals and emit differently the second time.
    if (deliver(s, handler, e) && definition->compiled->lua.empty()) {
        check_documents(s, *definition);
        fuzz::require(emitted_count(s) == emitted);
    }
    return 0;
}
