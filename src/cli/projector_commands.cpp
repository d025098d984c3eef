// prom projector apply|ls|show|rm: the registry of user-defined projectors, on --db like the
// other commands. A running `prom serve` on the same database picks changes up live
// (docs/projectors.md).
#include <cstdio>

#include "cli/commands.hpp"
#include "core/text_file.hpp"
#include "userproj_runtime/definition_files.hpp"
#include "userproj_runtime/projector_status.hpp"
#include "userproj_runtime/registry.hpp"

namespace prom::cli {

namespace {

struct projector_args {
    std::string db, file, name;
};

void run_apply(const projector_args& a, run_state& state) {
    auto text = userproj::read_definition_text(a.file);
    if (!text) return report(text.error(), state);
    auto body = parse_json(*text, json_file_limits);
    if (!body) return report({errc::invalid_argument, a.file + ": " + body.error().message}, state);
    auto refusal = [](const userproj::apply_error& why) {
        if (why.pointer) {
            // "invalid projector at /writes/0/key: …", or for the whole body (an empty
            // pointer) "invalid projector: …" (found from outside: no separator at all).
            return error{errc::invalid_argument, std::string("invalid projector") +
                                                     (why.pointer->empty() ? ": " : " ") +
                                                     userproj::describe(why)};
        }
        return why.err;
    };
    auto s = open_unless_refused(a.db, state, [&](store& empty) -> std::optional<error> {
        auto tried = userproj::apply_definition(empty, *body);
        if (!tried) return refusal(tried.error());
        return std::nullopt;
    });
    if (!s) return;
    auto done = userproj::apply_definition(*s, *body);
    if (!done) return report(refusal(done.error()), state);
    std::string_view what = done->kind == userproj::apply_kind::created    ? "created"
                            : done->kind == userproj::apply_kind::replaced ? "replaced"
                                                                           : "unchanged";
    // `version`: the version applied, which a rebuild serves only after its swap; the one
    // serving meanwhile is `serving_version`.
    const auto& e = done->entry;
    json::object o{{"name", e.name},
                   {"version", e.rebuild ? e.rebuild->version : e.version},
                   {"result", what},
                   {"rebuilding", e.rebuild.has_value()}};
    if (e.rebuild) o["serving_version"] = e.version;
    print_line(o);
}

// The counters of a status are this node's (`GET /projectors` on a running server); the CLI
// runs no projector, so it has none to show (docs/projectors.md).
void drop_node_counters(json::object& status) {
    for (auto* o :
         {&status, status.contains("rebuild") ? &status["rebuild"].as_object() : nullptr}) {
        if (!o) continue;
        for (const char* k : {"applied", "errors", "dead_lettered"}) o->erase(k);
    }
}

void run_ls(const projector_args& a, run_state& state) {
    auto s = open_or_report(a.db, state, db_access::must_exist);
    if (!s) return;
    auto entries = userproj::load_registry(*s);
    if (!entries) return report(entries.error(), state);
    for (const auto& e : *entries) {
        if (e.deleted) continue;
        auto st = userproj::status_json(*s, e, nullptr, false);
        if (!st) return report(st.error(), state);
        drop_node_counters(*st);
        print_line(*st);
    }
}

void run_show(const projector_args& a, run_state& state) {
    auto s = open_or_report(a.db, state, db_access::must_exist);
    if (!s) return;
    auto e = userproj::load_entry(*s, a.name);
    if (!e) return report(e.error(), state);
    if (!*e) return report({errc::not_found, "no projector '" + a.name + "'"}, state);
    auto st = userproj::status_json(*s, **e, nullptr, true);
    if (!st) return report(st.error(), state);
    drop_node_counters(*st);
    print_line(*st);
}

void run_rm(const projector_args& a, run_state& state) {
    auto s = open_or_report(a.db, state, db_access::must_exist);
    if (!s) return;
    if (auto ok = userproj::remove_definition(*s, a.name); !ok) return report(ok.error(), state);
    print_line(json::object{{"name", a.name}, {"deleted", true}});
}

}  // namespace

void register_projector_commands(CLI::App& app, run_state& state) {
    auto* group = app.add_subcommand(
        "projector",
        "manage user-defined projectors (stored in the database; a running `prom serve` on it "
        "applies changes live). See docs/projectors.md");
    group->require_subcommand(1);
    {
        auto a = std::make_shared<projector_args>();
        auto* cmd = group->add_subcommand(
            "apply",
            "store a definition (JSON file, or - for stdin): created, replaced, or a rebuild with "
            "a higher version and \"rebuild\": true. A bad definition: the JSON Pointer of the "
            "field and exit 2; a lower version than stored: exit 1");
        add_db_option(*cmd, a->db);
        cmd->add_option("file", a->file, "definition file, or - for standard input")->required();
        cmd->callback([a, &state] { run_apply(*a, state); });
    }
    {
        auto a = std::make_shared<projector_args>();
        auto* cmd = group->add_subcommand(
            "ls",
            "list definitions as NDJSON: name, version, state, cursors, lag (counters are "
            "per `prom serve` node: see GET /projectors)");
        add_db_option(*cmd, a->db);
        cmd->callback([a, &state] { run_ls(*a, state); });
    }
    {
        auto a = std::make_shared<projector_args>();
        auto* cmd = group->add_subcommand("show", "print one definition and its status as JSON");
        add_db_option(*cmd, a->db);
        cmd->add_option("name", a->name, "projector name")->required();
        cmd->callback([a, &state] { run_show(*a, state); });
    }
    {
        auto a = std::make_shared<projector_args>();
        auto* cmd = group->add_subcommand(
            "rm",
            "delete a definition: its projectors stop, its documents stay (exit 1 if unknown)");
        add_db_option(*cmd, a->db);
        cmd->add_option("name", a->name, "projector name")->required();
        cmd->callback([a, &state] { run_rm(*a, state); });
    }
}

}  // namespace prom::cli
