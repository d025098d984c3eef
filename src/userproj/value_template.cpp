#include "userproj/value_template.hpp"

#include "userproj/json_pointer.hpp"

namespace prom::userproj {

std::expected<value_template, definition_error> compile_value(const json::value& v,
                                                              const std::string& pointer) {
    value_template t;
    if (const json::string* s = v.if_string()) {
        std::string_view text = *s;
        if (text.starts_with("$$")) {
            t.literal = text.substr(1);
        } else if (text.starts_with('$')) {
            auto path = parse_event_path(text.substr(1));
            if (!path) return std::unexpected(definition_error{path.error(), pointer});
            t.k = value_template::kind::reference;
            t.ref = std::move(*path);
        } else {
            t.literal = v;
        }
        return t;
    }
    bool any_reference = false;
    if (const json::object* o = v.if_object()) {
        t.k = value_template::kind::object;
        for (const auto& m : *o) {
            auto c = compile_value(m.value(), pointer_join(pointer, m.key()));
            if (!c) return std::unexpected(c.error());
            any_reference = any_reference || c->k != value_template::kind::literal;
            t.members.push_back(value_member{std::string(m.key()), std::move(*c)});
        }
    } else if (const json::array* a = v.if_array()) {
        t.k = value_template::kind::array;
        for (std::size_t i = 0; i < a->size(); ++i) {
            auto c = compile_value((*a)[i], pointer_join(pointer, i));
            if (!c) return std::unexpected(c.error());
            any_reference = any_reference || c->k != value_template::kind::literal;
            t.items.push_back(std::move(*c));
        }
    }
    if (!any_reference) {
        // A literal: "$$" strings inside were already unescaped by the recursion.
        value_template lit;
        if (t.k == value_template::kind::object) {
            json::object o;
            for (auto& [k, m] : t.members) o[k] = std::move(m.literal);
            lit.literal = std::move(o);
        } else if (t.k == value_template::kind::array) {
            json::array a;
            for (auto& i : t.items) a.push_back(std::move(i.literal));
            lit.literal = std::move(a);
        } else {
            lit.literal = v;
        }
        return lit;
    }
    return t;
}

result<json::value> expand(const value_template& t, const event& e) {
    switch (t.k) {
        case value_template::kind::literal:
            return t.literal;
        case value_template::kind::reference: {
            json::value scratch;
            const json::value* v = lookup(e, t.ref, scratch);
            if (!v) return fail(errc::invalid_argument, missing_path_message(e, t.ref));
            return v == &scratch ? std::move(scratch) : *v;
        }
        case value_template::kind::object: {
            json::object o;
            o.reserve(t.members.size());
            for (const auto& [k, m] : t.members) {
                auto v = expand(m, e);
                if (!v) return std::unexpected(v.error());
                o[k] = std::move(*v);
            }
            return o;
        }
        case value_template::kind::array: {
            json::array a;
            a.reserve(t.items.size());
            for (const auto& i : t.items) {
                auto v = expand(i, e);
                if (!v) return std::unexpected(v.error());
                a.push_back(std::move(*v));
            }
            return a;
        }
    }
    return fail(errc::internal, "unknown template kind");
}

std::expected<key_template, definition_error> compile_key(std::string_view text,
                                                          const std::string& pointer) {
    key_template t;
    std::string literal;
    auto flush = [&] {
        if (!literal.empty())
            t.parts.push_back({.is_path = false, .text = std::move(literal), .path = {}});
        literal.clear();
    };
    for (std::size_t i = 0; i < text.size(); ++i) {
        char c = text[i];
        if (c == '{' && i + 1 < text.size() && text[i + 1] == '{') {
            literal += '{';
            ++i;
        } else if (c == '}' && i + 1 < text.size() && text[i + 1] == '}') {
            literal += '}';
            ++i;
        } else if (c == '{') {
            auto close = text.find('}', i + 1);
            if (close == std::string_view::npos) {
                return std::unexpected(definition_error{"a '{' without its '}'", pointer});
            }
            auto path = parse_event_path(text.substr(i + 1, close - i - 1));
            if (!path) return std::unexpected(definition_error{path.error(), pointer});
            flush();
            t.parts.push_back({.is_path = true, .text = {}, .path = std::move(*path)});
            i = close;
        } else if (c == '}') {
            return std::unexpected(
                definition_error{"a '}' without its '{' (write '}}' for a brace)", pointer});
        } else {
            literal += c;
        }
    }
    flush();
    return t;
}

result<std::string> expand(const key_template& t, const event& e) {
    std::string out;
    json::value scratch;
    for (const auto& p : t.parts) {
        if (!p.is_path) {
            out += p.text;
            continue;
        }
        const json::value* v = lookup(e, p.path, scratch);
        if (!v) return fail(errc::invalid_argument, missing_path_message(e, p.path));
        if (const json::string* s = v->if_string()) {
            out.append(s->data(), s->size());
        } else if (v->is_number() || v->is_bool()) {
            append_canonical_json(out, *v);
        } else {
            return fail(errc::invalid_argument, "{" + p.path.text + "} of event " + e.id +
                                                    " is not a string, number or boolean");
        }
    }
    return out;
}

}  // namespace prom::userproj
