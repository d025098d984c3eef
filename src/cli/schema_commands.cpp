// prom schema set|ls|show: topic schemas in the database (docs/schemas.md), on --db like
// the other commands. A running `prom serve` on the same database enforces a new version
// at once (PostgreSQL: through its NOTIFY; SQLite: within its recheck interval).
#include <cstdio>

#include "cli/commands.hpp"
#include "core/text_file.hpp"
#include "schema/builtin_schemas.hpp"
#include "schema/schema_registry.hpp"
#include "userproj_runtime/definition_files.hpp"

namespace prom::cli {

namespace {

struct schema_args {
    std::string db, topic, file, compatibility;
};

// The file holds the schema itself, or the PUT body ({"schema", "compatibility"}): a top-level
// "schema" member (no JSON Schema keyword has that name) makes it the body, checked as the
// route checks it, so that a misspelt "compatability" is refused rather than stored as part
// of a schema that then accepts every payload.
result<json::value> body_of(json::value file, const std::string& compatibility) {
    if (file.is_object() && file.get_object().contains("schema")) {
        auto& o = file.get_object();
        if (const auto* given = o.if_contains("compatibility");
            given && !compatibility.empty() &&
            !(given->is_string() && given->get_string() == compatibility)) {
            return fail(errc::invalid_argument,
                        "the file's \"compatibility\" and --compatibility " + compatibility +
                            " differ: give one of them");
        }
        if (!compatibility.empty()) o["compatibility"] = compatibility;
        return file;
    }
    json::object body{{"schema", std::move(file)}};
    if (!compatibility.empty()) body["compatibility"] = compatibility;
    return json::value(std::move(body));
}

void run_set(const schema_args& a, run_state& state) {
    // The topic before the file: a name no event can have is the first thing wrong (found
    // from outside: `schema set 'bad topic' /dev/null` spoke of the file's JSON).
    if (auto why = schema::schema_topic_problem(a.topic)) {
        return report({errc::invalid_argument, why->code + ": " + why->err.message}, state);
    }
    auto text = userproj::read_definition_text(a.file);
    if (!text) return report(text.error(), state);
    auto file = parse_json(*text, json_file_limits);
    if (!file) return report({errc::invalid_argument, a.file + ": " + file.error().message}, state);
    // A bare schema file is sent as the body's "schema": a problem's pointer is said within
    // the file the user wrote, not within the body made of it.
    const bool bare = !(file->is_object() && file->get_object().contains("schema"));
    auto refusal = [bare](const schema::put_error& why) {
        if (why.code.empty()) return why.err;
        std::string at = why.pointer.value_or("");
        constexpr std::string_view wrapper = "/schema";
        if (bare && (at == wrapper || at.starts_with(std::string(wrapper) + "/"))) {
            at = at == wrapper ? "the file's root" : at.substr(wrapper.size());
        }
        std::string where = at.empty() ? "" : " at " + at;
        return error{errc::invalid_argument, why.code + where + ": " + why.err.message};
    };
    auto wrapped = body_of(std::move(*file), a.compatibility);
    if (!wrapped) return report(wrapped.error(), state);
    const json::value body = std::move(*wrapped);
    auto s = open_unless_refused(a.db, state, [&](store& empty) -> std::optional<error> {
        auto tried = schema::put_schema(empty, a.topic, body);
        if (!tried) return refusal(tried.error());
        return std::nullopt;
    });
    if (!s) return;
    auto put = schema::put_schema(*s, a.topic, body);
    if (!put) return report(refusal(put.error()), state);
    json::object o{{"topic", put->stored.topic},
                   {"version", put->stored.version},
                   {"result", put->created ? "created" : "unchanged"}};
    print_line(o);
}

void run_ls(const schema_args& a, run_state& state) {
    auto s = open_or_report(a.db, state, db_access::must_exist);
    if (!s) return;
    auto all = schema::current_schemas(*s);
    if (!all) return report(all.error(), state);
    for (const auto& v : *all) print_line(schema::to_json(v));
}

void run_show(const schema_args& a, run_state& state) {
    if (refused_topic_name(a.topic, state)) return;
    auto s = open_or_report(a.db, state, db_access::must_exist);
    if (!s) return;
    auto versions = schema::schema_versions(*s, a.topic);
    if (!versions) return report(versions.error(), state);
    if (versions->empty()) {
        return report({errc::not_found, "topic '" + a.topic + "' has no schema"}, state);
    }
    json::array items;
    for (const auto& v : *versions) items.push_back(schema::to_json(v));
    print_line(json::object{
        {"topic", a.topic}, {"version", versions->back().version}, {"versions", std::move(items)}});
}

void run_builtin(const schema_args& a, run_state& state) {
    for (const auto& b : schema::builtin_schemas()) {
        auto parsed = parse_json(b.text);
        if (!parsed) return report({errc::internal, "a built-in schema does not parse"}, state);
        if (a.topic.empty()) {
            print_line(json::object{{"topic", b.topic}, {"schema", std::move(*parsed)}});
        } else if (a.topic == b.topic) {
            return print_line(*parsed);
        }
    }
    if (!a.topic.empty()) {
        report({errc::not_found, "prom ships no schema for topic '" + a.topic + "'"}, state);
    }
}

}  // namespace

void register_schema_commands(CLI::App& app, run_state& state) {
    auto* group = app.add_subcommand(
        "schema",
        "JSON Schemas of topic payloads (stored in the database; every publish is checked "
        "against its topic's current version). See docs/schemas.md");
    group->require_subcommand(1);
    {
        auto a = std::make_shared<schema_args>();
        auto* cmd = group->add_subcommand(
            "set",
            "store FILE (a draft-7 JSON Schema, or - for stdin) as TOPIC's next version; it must "
            "be backward compatible with the current one unless --compatibility none. A bad or "
            "incompatible schema: the JSON Pointer of the problem and exit 2");
        add_db_option(*cmd, a->db);
        cmd->add_option("topic", a->topic, "topic name")->required();
        cmd->add_option("file", a->file, "schema file, or - for standard input")->required();
        cmd->add_option("--compatibility", a->compatibility,
                        "backward (default: checked against the current version) or none")
            ->check(CLI::IsMember({"backward", "none"}));
        cmd->callback([a, &state] { run_set(*a, state); });
    }
    {
        auto a = std::make_shared<schema_args>();
        auto* cmd = group->add_subcommand(
            "ls", "list the current schema of every topic that has one, as NDJSON");
        add_db_option(*cmd, a->db);
        cmd->callback([a, &state] { run_ls(*a, state); });
    }
    {
        auto a = std::make_shared<schema_args>();
        auto* cmd = group->add_subcommand(
            "show", "print every version of TOPIC's schema as JSON (exit 1 if it has none)");
        add_db_option(*cmd, a->db);
        cmd->add_option("topic", a->topic, "topic name")->required();
        cmd->callback([a, &state] { run_show(*a, state); });
    }
    {
        auto a = std::make_shared<schema_args>();
        auto* cmd = group->add_subcommand(
            "builtin",
            "print the schema prom ships for a built-in topic (heartbeat.received, "
            "process.state), or all of them as NDJSON; not enforced until stored with `set`");
        cmd->add_option("topic", a->topic, "topic name");
        cmd->callback([a, &state] { run_builtin(*a, state); });
    }
}

}  // namespace prom::cli
