// "prom pubish": name what was typed and the nearest command, instead of CLI11's
// "A subcommand is required".
#include <algorithm>
#include <vector>

#include "cli/commands.hpp"

namespace prom::cli {

namespace {

// Levenshtein distance: the number of one-letter edits from a to b.
std::size_t edit_distance(std::string_view a, std::string_view b) {
    std::vector<std::size_t> row(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i) {
        std::size_t diagonal = row[0];
        row[0] = i;
        for (std::size_t j = 1; j <= b.size(); ++j) {
            std::size_t above = row[j];
            row[j] =
                std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
            diagonal = above;
        }
    }
    return row[b.size()];
}

// Whether `level` takes words of its own (`prom cursor TOPIC GROUP`): then a word that is
// not one of its subcommands may be one of them.
bool has_positionals(const CLI::App& level) {
    return !level.get_options([](const CLI::Option* o) { return o->get_positional(); }).empty();
}

// Whether `arg` is an option of `level` whose value is the next word (`--db URL`).
bool takes_next_word(const CLI::App& level, std::string_view arg) {
    if (arg.find('=') != std::string_view::npos) return false;
    const CLI::Option* o = level.get_option_no_throw(std::string(arg));
    return o != nullptr && o->get_type_size_min() > 0;
}

// An option this level does not have (CLI11's --help, -h and --version are everyone's).
bool foreign_option(const CLI::App& level, std::string_view arg) {
    return arg != "--help" && arg != "-h" && arg != "--version" &&
           !level.get_option_no_throw(std::string(arg));
}

}  // namespace

std::optional<std::string> unknown_command_message(const CLI::App& app, int argc, char** argv) {
    // Down the command words (`prom gen ts`): at each level the first argument that is not an
    // option is the command (prom's top level and its groups have only --help and --version,
    // which take no value). A level without subcommands is a command's own arguments.
    const CLI::App* level = &app;
    std::string path = "prom";
    int i = 1;
    for (;;) {
        auto subs = level->get_subcommands([](const CLI::App*) { return true; });
        // A group (a command that is nothing without a subcommand, `prom gen`) is looked
        // into, and so is a command with subcommands and no words of its own (`prom groups
        // rmm`, found from outside: CLI11 said "arguments were not expected: b a rmm");
        // `prom cursor TOPIC GROUP` takes words of its own beside `prom cursor ls`.
        if (subs.empty() || (level->get_require_subcommand_min() == 0 && has_positionals(*level))) {
            return std::nullopt;
        }
        std::string_view typed, unknown_option;
        for (; i < argc; ++i) {
            std::string_view a = argv[i];
            if (a == "--") return std::nullopt;
            if (!a.starts_with('-')) {
                typed = a;
                break;
            }
            if (unknown_option.empty() && foreign_option(*level, a)) unknown_option = a;
            if (takes_next_word(*level, a)) ++i;  // `prom groups --db URL rm`
        }
        // `prom --versio`: an option this level does not have and no command (found from
        // outside: "A subcommand is required").
        if (typed.empty() && !unknown_option.empty()) {
            std::string message = "unknown option '" + std::string(unknown_option) + "'";
            if (level != &app) message += " for '" + path + "'";
            const std::string_view prefix = unknown_option.substr(0, unknown_option.find('='));
            for (std::string_view known : {"--version", "--help"}) {
                if (level == &app || known == "--help") {
                    if (edit_distance(prefix, known) <= 2) {
                        return message + "; did you mean '" + std::string(known) + "'?";
                    }
                }
            }
            message += "; options go after a command (";
            message += path;
            message += " COMMAND --help)";
            return message;
        }
        if (typed.empty()) return std::nullopt;
        const CLI::App* found = nullptr;
        std::string best;
        std::size_t best_distance = SIZE_MAX;
        for (const CLI::App* sub : subs) {
            const std::string& name = sub->get_name();
            if (name == typed) found = sub;
            auto d = edit_distance(typed, name);
            if (d < best_distance) {
                best_distance = d;
                best = name;
            }
        }
        if (found) {
            level = found;
            path += " " + found->get_name();
            ++i;
            continue;
        }
        std::string message = "unknown command '" + std::string(typed) + "'";
        if (level != &app) message += " for '" + path + "'";
        // `prom --db URL topics`: the options belong after the command (found from outside:
        // "unknown command 'sqlite:/tmp/x.db'" said nothing of why).
        // An option this level does not have: it belongs after the command (`prom projector
        // --db URL ls` too; found from outside).
        const std::string_view before = i > 1 ? std::string_view(argv[i - 1]) : "";
        if (before.starts_with('-') && foreign_option(*level, before)) {
            const std::string option(argv[i - 1]);
            message += ": '" + option + "' is an option of a command and goes after it (";
            message += path;
            message += " COMMAND " + option + " " + std::string(typed) + ")";
            return message;
        }
        // A suggestion only when it is close: at most a third of the letters differ.
        if (!best.empty() && best_distance <= std::max<std::size_t>(1, typed.size() / 3)) {
            message += "; did you mean '" + best + "'?";
        } else {
            message += "; commands:";
            for (const CLI::App* sub : subs) message += " " + sub->get_name();
        }
        return message;
    }
}

}  // namespace prom::cli
