// The `prom` CLI: each file registers its subcommands on the app.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <string>

#include "prom/store.hpp"

namespace prom::cli {

// Exit codes: 0 ok, 1 the command failed (or found nothing), 2 bad usage or input.
struct run_state {
    int exit_code = 0;
};

// Adds `--db URL` to a subcommand (options may come before or after positionals).
void add_db_option(CLI::App& cmd, std::string& db_url);

// Whether a command may create its database. Commands that only read, and those that change
// what must already be there (erase, compact, doc rm), refuse a database that does not exist
// (exit 1) and create nothing: a typo in --db must not act on an empty log.
enum class db_access { may_create, must_exist };

// Opens the store or prints the error and sets the exit code.
std::unique_ptr<store> open_or_report(const std::string& db_url, run_state& state,
                                      db_access access = db_access::may_create);

// A check for an integer option: a plain decimal in [min, max], refused (exit 2) otherwise,
// never clamped or wrapped.
CLI::Validator whole_number(std::int64_t min,
                            std::int64_t max = std::numeric_limits<std::int64_t>::max());

// Refuses an empty value ('') for every option and argument of `app` and its subcommands,
// registered already: an empty value would otherwise read as an option left out.
void refuse_empty_values(CLI::App& app);

// For commands that may create their database (projector apply, schema set): when it does
// not exist yet, `refusal` is first asked on an empty in-memory store, so that input the
// command refuses leaves no new database behind. Then opens it (may_create), or reports.
std::unique_ptr<store> open_unless_refused(
    const std::string& db_url, run_state& state,
    const std::function<std::optional<error>(store&)>& refusal);

// Prints `v` as one line of canonical JSON on stdout (NDJSON).
void print_line(const json::value& v);

// Prints "prom: <message>" on stderr and sets the exit code (2 for invalid_argument).
// "prom: MESSAGE" on stderr, as one line (control characters escaped, core/text.hpp).
void print_error(std::string_view message);
void report(const error& e, run_state& state);
// Reports a name no topic can have (exit 2) and returns true; false for a good name. Checked
// before the database is opened, so such input says why rather than "no topic".
bool refused_topic_name(std::string_view topic, run_state& state);

// "unknown command 'pubish'; did you mean 'publish'?" when the first non-option argument
// names no subcommand of `app`; nullopt when it does (or there is none).
std::optional<std::string> unknown_command_message(const CLI::App& app, int argc, char** argv);

void register_db_commands(CLI::App& app, run_state& state);
void register_tail_command(CLI::App& app, run_state& state);
// prom serve: the HTTP server with the built-in projectors (serve_command.cpp).
void register_serve_command(CLI::App& app, run_state& state);
void register_timetravel_commands(CLI::App& app, run_state& state);
// prom projector apply|ls|show|rm: the registry of user-defined projectors.
void register_projector_commands(CLI::App& app, run_state& state);
// prom schema set|ls|show: topic schemas (schema_commands.cpp).
void register_schema_commands(CLI::App& app, run_state& state);
// prom gen ts: TypeScript types, wrapper and validators from topic schemas (gen_commands.cpp).
void register_gen_commands(CLI::App& app, run_state& state);
// prom topic policy, prom compact, prom erase, prom doc rm (retention_commands.cpp).
void register_retention_commands(CLI::App& app, run_state& state);

}  // namespace prom::cli
