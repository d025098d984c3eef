// prom gen ts: TypeScript types, a typed wrapper and runtime validators from the topics'
// schemas (docs/schemas.md, "TypeScript"): every stored current schema, and the schemas prom
// ships for built-in topics that have none stored.
#include <algorithm>
#include <filesystem>
#include <fstream>

#include "cli/commands.hpp"
#include "core/topic_name.hpp"
#include "prom/user_projector.hpp"
#include "schema/builtin_schemas.hpp"
#include "schema/schema_registry.hpp"
#include "schema/ts_generator.hpp"

namespace prom::cli {

namespace {

struct gen_args {
    std::string db, out;
    std::vector<std::string> patterns;
};

bool wanted(const gen_args& a, std::string_view topic) {
    if (a.patterns.empty()) return true;
    return std::any_of(a.patterns.begin(), a.patterns.end(),
                       [&](const std::string& p) { return topic_matches(p, topic); });
}

void run_ts(const gen_args& a, run_state& state) {
    auto s = open_or_report(a.db, state, db_access::must_exist);
    if (!s) return;
    auto stored = schema::current_schemas(*s);
    if (!stored) return report(stored.error(), state);
    std::vector<schema::ts_topic> topics;
    for (const auto& v : *stored) {
        if (wanted(a, v.topic)) topics.push_back({v.topic, v.version, v.schema});
    }
    for (const auto& b : schema::builtin_schemas()) {
        bool is_stored = std::any_of(stored->begin(), stored->end(),
                                     [&](const auto& v) { return v.topic == b.topic; });
        if (is_stored || !wanted(a, b.topic)) continue;
        auto parsed = parse_json(b.text);
        if (!parsed) return report({errc::internal, "a built-in schema does not parse"}, state);
        topics.push_back({std::string(b.topic), 0, std::move(*parsed)});
    }
    if (topics.empty()) {
        return report({errc::not_found, "no topic schema matches --topic"}, state);
    }
    std::sort(topics.begin(), topics.end(),
              [](const auto& x, const auto& y) { return x.topic < y.topic; });
    std::error_code ec;
    std::filesystem::create_directories(a.out, ec);
    if (ec) return report({errc::io_error, "cannot create " + a.out + ": " + ec.message()}, state);
    for (const auto& f : schema::generate_typescript(topics)) {
        auto path = std::filesystem::path(a.out) / f.name;
        std::ofstream file(path, std::ios::binary | std::ios::trunc);
        file << f.text;
        file.close();
        if (!file) return report({errc::io_error, "cannot write " + path.string()}, state);
        print_line(json::object{{"file", path.string()}, {"topics", topics.size()}});
    }
}

}  // namespace

void register_gen_commands(CLI::App& app, run_state& state) {
    auto* group = app.add_subcommand("gen", "generate client code from topic schemas");
    group->require_subcommand(1);
    auto a = std::make_shared<gen_args>();
    auto* cmd = group->add_subcommand(
        "ts",
        "write topics.ts (a payload type per topic, TopicPayloads, withTopics(client) for "
        "client.topic(name).publish(payload), validatePayload) and validate.ts into --out, from "
        "the stored schemas and those prom ships for built-in topics. See docs/schemas.md");
    add_db_option(*cmd, a->db);
    cmd->add_option("--out", a->out, "directory to write (created when missing)")->required();
    cmd->add_option("--topic", a->patterns,
                    "only topics matching PATTERN (exact, or a prefix ending in '*'); repeatable")
        ->check(CLI::Validator(
            [](std::string& pattern) -> std::string {
                // As the other topic patterns (retention, SLOs, auth): one no topic can match
                // is a mistake, not an empty answer.
                if (topic_pattern_can_match(pattern)) return {};
                return "'" + pattern +
                       "' is a topic (A-Z a-z 0-9 . _ - :) or a prefix ending in '*' ('*' only "
                       "last)";
            },
            "", "topic pattern"));
    cmd->callback([a, &state] { run_ts(*a, state); });
}

}  // namespace prom::cli
