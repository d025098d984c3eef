#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <cstdlib>

#include "cli/commands.hpp"
#include "cli/log_format.hpp"
#include "cli/ops_cli.hpp"
#include "core/text.hpp"
#include "core/topic_name.hpp"

namespace prom::cli {

void add_db_option(CLI::App& cmd, std::string& db_url) {
    CLI::Option* db =
        cmd.add_option("--db", db_url, "database: sqlite:PATH, postgresql://… or memory:")
            ->default_val(std::string(default_db_url))
            ->envname("PROM_DB");
    // CLI11 reads an empty variable as an unset one, so `PROM_DB=$TYPO prom publish …` would
    // write to the default database: refused like `--db ""`. Checked once this command's
    // words are read, before its environment and callbacks.
    cmd.parse_complete_callback([db] {
        const char* env = std::getenv("PROM_DB");
        if (db->count() == 0 && env != nullptr && *env == '\0') {
            throw CLI::ValidationError(
                "PROM_DB is set but empty: unset it, or give a database (--db or PROM_DB)");
        }
    });
}

void print_line(const json::value& v) {
    std::string s = canonical_json(v);
    s.push_back('\n');
    std::fwrite(s.data(), 1, s.size(), stdout);
}

void print_error(std::string_view message) {
    // One line whatever the message quotes (a NUL cut it short, a newline split it).
    std::string line = "prom: " + log_line(message) + "\n";
    std::fwrite(line.data(), 1, line.size(), stderr);
}

bool refused_topic_name(std::string_view topic, run_state& state) {
    auto why = topic_name_problem(topic);
    if (why) report({errc::invalid_argument, *why}, state);
    return why.has_value();
}

void report(const error& e, run_state& state) {
    print_error(e.message);
    state.exit_code = e.code == errc::invalid_argument || e.code == errc::invalid_payload ? 2 : 1;
}

std::unique_ptr<store> open_or_report(const std::string& db_url, run_state& state,
                                      db_access access) {
    auto s = open_store(db_url, {.must_exist = access == db_access::must_exist});
    if (!s) {
        report(s.error(), state);
        return nullptr;
    }
    return std::move(*s);
}

std::unique_ptr<store> open_unless_refused(
    const std::string& db_url, run_state& state,
    const std::function<std::optional<error>(store&)>& refusal) {
    if (auto existing = open_store(db_url, {.must_exist = true})) return std::move(*existing);
    auto scratch = open_store("memory:");
    if (!scratch) {
        report(scratch.error(), state);
        return nullptr;
    }
    if (auto why = refusal(**scratch)) {
        report(*why, state);
        return nullptr;
    }
    return open_or_report(db_url, state);
}

}  // namespace prom::cli

namespace {

int run_cli(int argc, char** argv) {
    auto logger = spdlog::stderr_color_mt("prom");
    logger->set_formatter(prom::cli::log_formatter());
    spdlog::set_default_logger(logger);
    spdlog::set_level(spdlog::level::warn);

    CLI::App app{"prom: event streaming, projections and state snapshots"};
    app.require_subcommand(1);
    app.set_version_flag("--version", "prom 0.1.0");
    prom::cli::run_state state;
    prom::cli::register_db_commands(app, state);
    prom::cli::register_tail_command(app, state);
    prom::cli::register_serve_command(app, state);
    prom::cli::register_timetravel_commands(app, state);
    prom::cli::register_projector_commands(app, state);
    prom::cli::register_ops_commands(app, state, app.get_subcommand("cursor"));
    prom::cli::register_replay_command(app, state);
    prom::cli::register_schema_commands(app, state);
    prom::cli::register_gen_commands(app, state);
    prom::cli::register_retention_commands(app, state);
    prom::cli::refuse_empty_values(app);
    if (auto unknown = prom::cli::unknown_command_message(app, argc, argv)) {
        std::fprintf(stderr, "prom: %s\n", unknown->c_str());
        return 2;
    }
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        if (e.get_exit_code() == 0) return app.exit(e);  // --help, --version
        // CLI11 checks required arguments before it reports unknown options, so "prom publish
        // --bogus" said "topic is required" (found from outside): the unknown option first.
        if (dynamic_cast<const CLI::RequiredError*>(&e)) {
            for (const auto& extra : app.remaining(true)) {
                if (extra.size() < 2 || extra.front() != '-') continue;
                std::fprintf(stderr,
                             "prom: The following argument was not expected: %s\n"
                             "Run with --help for more information.\n",
                             extra.c_str());
                return 2;
            }
        }
        // Prefixed like every other refusal of the CLI.
        std::fprintf(stderr, "prom: %s\nRun with --help for more information.\n", e.what());
        return 2;
    }
    return state.exit_code;
}

}  // namespace

int main(int argc, char** argv) {
    try {
        return run_cli(argc, argv);
    } catch (const std::exception& e) {  // a bug: said, never an abort with a core dump
        std::fprintf(stderr, "prom: internal error: %s\n", e.what());
        return 1;
    } catch (...) {
        std::fputs("prom: internal error\n", stderr);
        return 1;
    }
}
