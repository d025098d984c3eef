#include "userproj_runtime/definition_files.hpp"

#include <algorithm>
#include <filesystem>
#include <map>

#include "core/text_file.hpp"

namespace prom::userproj {

result<std::string> read_definition_text(const std::string& path) { return read_text_file(path); }

result<std::vector<std::string>> definition_files_in(const std::string& dir) {
    std::error_code ec;
    std::vector<std::string> out;
    for (const auto& f : std::filesystem::directory_iterator(dir, ec)) {
        if (f.path().extension() == ".json" && f.is_regular_file())
            out.push_back(f.path().string());
    }
    if (ec) return fail(errc::invalid_argument, "cannot list '" + dir + "': " + ec.message());
    std::ranges::sort(out);
    return out;
}

namespace {

// "at <pointer>: <message>", or the message alone for the whole body.
std::string located(const std::string& message, std::string_view pointer) {
    return pointer.empty() ? message : "at " + std::string(pointer) + ": " + message;
}

result<json::value> definition_body(const std::string& f) {
    auto text = read_definition_text(f);
    if (!text) return std::unexpected(text.error());
    auto body = parse_json(*text, json_file_limits);
    if (!body) return fail(errc::invalid_argument, f + ": " + body.error().message);
    return body;
}

}  // namespace

std::string describe(const apply_error& e) {
    return located(e.err.message, e.pointer.value_or(""));
}

status check_definition_files(const std::vector<std::string>& files) {
    // Two files of one name: the later would replace the earlier at every start, without a
    // word (found from outside).
    std::map<std::string, std::string, std::less<>> file_of;
    for (const auto& f : files) {
        auto body = definition_body(f);
        if (!body) return std::unexpected(body.error());
        auto parsed = parse_projector_definition(*body);
        if (!parsed) {
            return fail(errc::invalid_argument,
                        f + ": " + located(parsed.error().message, parsed.error().pointer));
        }
        auto [at, fresh] = file_of.emplace(parsed->name, f);
        if (!fresh) {
            return fail(errc::invalid_argument, f + ": projector '" + parsed->name +
                                                    "' is defined in " + at->second +
                                                    " too: one file per projector");
        }
    }
    return {};
}

status apply_definition_files(store& s, const std::vector<std::string>& files) {
    // What the store would refuse for sure is asked of every file first, so that a refused
    // start leaves no earlier file applied (found from outside: files before the refused one
    // were stored).
    // Each file is read once, for both passes.
    std::vector<json::value> bodies;
    bodies.reserve(files.size());
    for (const auto& f : files) {
        auto body = definition_body(f);
        if (!body) return std::unexpected(body.error());
        auto parsed = parse_projector_definition(*body);
        if (parsed) {  // an invalid one is refused below, with its place
            auto stored = load_entry(s, parsed->name);
            if (!stored) return std::unexpected(stored.error());
            if (*stored && !(*stored)->deleted && parsed->version < (*stored)->version) {
                return fail(errc::conflict,
                            f + ": " + lower_version(parsed->version, (*stored)->version).message);
            }
        }
        bodies.push_back(std::move(*body));
    }
    for (std::size_t i = 0; i < files.size(); ++i) {
        auto done = apply_definition(s, bodies[i]);
        if (!done) {
            auto code = done.error().pointer ? errc::invalid_argument : done.error().err.code;
            return fail(code, files[i] + ": " + describe(done.error()));
        }
    }
    return {};
}

}  // namespace prom::userproj
