#include "userproj/event_path.hpp"

#include <charconv>

#include "core/text.hpp"

namespace prom::userproj {

std::expected<event_path, std::string> parse_event_path(std::string_view text) {
    event_path p;
    p.text = text;
    auto dot = text.find('.');
    std::string_view root = text.substr(0, dot);
    std::string_view rest =
        dot == std::string_view::npos ? std::string_view{} : text.substr(dot + 1);
    if (root == "payload") {
        p.root = event_root::payload;
    } else if (root == "headers") {
        p.root = event_root::headers;
        if (dot == std::string_view::npos || rest.empty()) {
            return std::unexpected("'headers' needs a header name, as in headers.trace-id");
        }
        p.fields.emplace_back(rest);  // a header name may contain dots
        return p;
    } else if (root == "key") {
        p.root = event_root::key;
    } else if (root == "id") {
        p.root = event_root::id;
    } else if (root == "ts") {
        p.root = event_root::ts;
    } else if (root == "seq") {
        p.root = event_root::seq;
    } else if (root == "topic") {
        p.root = event_root::topic;
    } else {
        return std::unexpected("'" + std::string(text) +
                               "' refers to nothing: a path starts with payload, key, id, ts, "
                               "seq, topic or headers");
    }
    if (dot == std::string_view::npos) return p;
    if (p.root != event_root::payload) {
        return std::unexpected("'" + std::string(root) + "' has no fields ('" + std::string(text) +
                               "')");
    }
    std::size_t start = 0;
    for (;;) {
        auto next = rest.find('.', start);
        std::string_view step =
            rest.substr(start, next == std::string_view::npos ? next : next - start);
        if (step.empty()) return std::unexpected("'" + std::string(text) + "' has an empty step");
        p.fields.emplace_back(step);
        if (next == std::string_view::npos) break;
        start = next + 1;
    }
    return p;
}

const json::value* lookup(const event& e, const event_path& path, json::value& scratch) {
    switch (path.root) {
        case event_root::key:
            scratch = e.key;
            return &scratch;
        case event_root::id:
            scratch = e.id;
            return &scratch;
        case event_root::topic:
            scratch = e.topic;
            return &scratch;
        case event_root::ts:
            scratch = e.ts.value;
            return &scratch;
        case event_root::seq:
            scratch = e.seq.value;
            return &scratch;
        case event_root::headers: {
            auto it = e.headers.find(path.fields.front());
            if (it == e.headers.end()) return nullptr;
            scratch = it->second;
            return &scratch;
        }
        case event_root::payload:
            break;
    }
    const json::value* v = &e.payload;
    for (const auto& step : path.fields) {
        if (const json::object* o = v->if_object()) {
            auto it = o->find(step);
            if (it == o->end()) return nullptr;
            v = &it->value();
        } else if (const json::array* a = v->if_array(); a && all_digits(step)) {
            std::size_t i = 0;
            auto [end, ec] = std::from_chars(step.data(), step.data() + step.size(), i);
            if (ec != std::errc{} || i >= a->size()) return nullptr;
            v = &(*a)[i];
        } else {
            return nullptr;
        }
    }
    return v;
}

std::string missing_path_message(const event& e, const event_path& path) {
    return "event " + e.id + " (seq " + to_string(e.seq) + ") has no " + path.text;
}

}  // namespace prom::userproj
