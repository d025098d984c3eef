#include "core/text_file.hpp"

#include <filesystem>
#include <fstream>
#include <iostream>

namespace prom {

result<std::string> read_text_file(const std::string& path, std::string_view what,
                                   std::size_t max_bytes) {
    const std::string named = std::string(what) + "'" + path + "'";
    std::error_code ec;
    if (path != "-" && std::filesystem::is_directory(path, ec)) {
        // An ifstream opens a directory and reads nothing: "incomplete JSON" said nothing.
        return fail(errc::invalid_argument, named + " is a directory, not a file");
    }
    std::ifstream file;
    if (path != "-") {
        file.open(path, std::ios::binary);
        if (!file) return fail(errc::invalid_argument, "cannot read " + named);
    }
    std::istream& in = path == "-" ? std::cin : file;
    std::string text;
    char chunk[65536];
    while (in.read(chunk, sizeof chunk) || in.gcount() > 0) {
        text.append(chunk, static_cast<std::size_t>(in.gcount()));
        if (text.size() > max_bytes) {
            return fail(errc::invalid_argument,
                        named + " is larger than " + std::to_string(max_bytes >> 20) + " MiB");
        }
    }
    if (in.bad()) return fail(errc::invalid_argument, "cannot read " + named);
    return text;
}

}  // namespace prom
