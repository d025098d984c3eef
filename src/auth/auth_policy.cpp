#include "auth/auth_policy.hpp"

#include <algorithm>
#include <cctype>

#include "core/topic_name.hpp"

namespace prom::auth {

namespace {

// Compares without an early exit, so response times do not reveal how much of a guessed
// token was right.
bool same_secret(std::string_view a, std::string_view b) {
    unsigned char diff = a.size() == b.size() ? 0 : 1;
    for (std::size_t i = 0; i < a.size(); ++i) {
        diff |= static_cast<unsigned char>(a[i] ^ (i < b.size() ? b[i] : 0));
    }
    return diff == 0;
}

// A typo in the auth config must never loosen it: `{"tokenz": [...]}` would otherwise start
// the server with auth off. So every object of it accepts only the keys it knows, and the
// error names the full path of the one it does not (docs/config.md).
status only_known_keys(const json::object& o, std::initializer_list<std::string_view> known,
                       const std::string& path) {
    for (const auto& kv : o) {
        if (std::find(known.begin(), known.end(), kv.key()) == known.end()) {
            std::string message = "config: unknown key '" + path + ".";
            message += kv.key();
            message += "' (known: ";
            for (std::size_t i = 0; i < known.size(); ++i) {
                if (i) message += ", ";
                message += known.begin()[i];
            }
            message += ")";
            return fail(errc::invalid_argument, std::move(message));
        }
    }
    return {};
}

result<std::vector<std::string>> patterns(const json::object& o, std::string_view field,
                                          const std::string& path) {
    std::vector<std::string> out;
    auto it = o.find(field);
    if (it == o.end()) return out;
    const std::string where = path + "." + std::string(field);
    if (!it->value().is_array()) {
        return fail(errc::invalid_argument, "config: '" + where + "' must be an array of patterns");
    }
    for (const auto& p : it->value().get_array()) {
        if (!p.is_string() || p.get_string().empty()) {
            return fail(errc::invalid_argument,
                        "config: '" + where + "' must hold non-empty strings");
        }
        std::string_view s = p.get_string();
        if (!well_formed_pattern(s)) {
            return fail(errc::invalid_argument,
                        "config: '" + where + "': '*' may only end a pattern: " + std::string(s));
        }
        // publish, subscribe and read name topics and collections, whose characters are a
        // topic's: a pattern with another (" order.*") would grant nothing, silently.
        // groups and admin also name consumer groups, whose names are freer.
        const bool names_topics = field == "publish" || field == "subscribe" || field == "read";
        if (names_topics && !topic_pattern_can_match(s)) {
            return fail(errc::invalid_argument,
                        "config: '" + where + "': '" + std::string(s) +
                            "' matches no topic or collection (A-Z a-z 0-9 . _ - :, then an "
                            "optional final '*')");
        }
        out.emplace_back(s);
    }
    return out;
}

}  // namespace

std::optional<std::string_view> bearer_token(std::string_view h) {
    constexpr std::string_view scheme = "bearer ";
    if (h.size() <= scheme.size()) return std::nullopt;
    for (std::size_t i = 0; i < scheme.size(); ++i) {
        if (std::tolower(static_cast<unsigned char>(h[i])) != scheme[i]) return std::nullopt;
    }
    h.remove_prefix(scheme.size());
    while (!h.empty() && h.front() == ' ') h.remove_prefix(1);
    while (!h.empty() && h.back() == ' ') h.remove_suffix(1);
    if (h.empty()) return std::nullopt;
    return h;
}

bool pattern_matches(std::string_view pattern, std::string_view name) {
    if (pattern == "*") return true;
    if (pattern.ends_with('*')) return name.starts_with(pattern.substr(0, pattern.size() - 1));
    return pattern == name;
}

result<auth_policy> auth_policy::from_json(const json::value& config) {
    auth_policy p;
    if (!config.is_object())
        return fail(errc::invalid_argument, "config: 'auth' must be an object");
    if (auto ok = only_known_keys(config.get_object(), {"tokens"}, "auth"); !ok) {
        return std::unexpected(ok.error());
    }
    // An `auth` section without tokens would start the server with auth off, the one outcome
    // its author cannot have meant (a template that rendered no tokens, say): refused.
    auto tokens = config.get_object().find("tokens");
    if (tokens == config.get_object().end() || !tokens->value().is_array()) {
        return fail(errc::invalid_argument, "config: 'auth.tokens' must be an array of tokens");
    }
    if (tokens->value().get_array().empty()) {
        return fail(errc::invalid_argument,
                    "config: 'auth.tokens' is empty: give at least one token, or leave 'auth' "
                    "out to run without authentication");
    }
    for (const auto& t : tokens->value().get_array()) {
        const std::string path = "auth.tokens[" + std::to_string(p.grants_.size()) + "]";
        if (!t.is_object())
            return fail(errc::invalid_argument, "config: '" + path + "' must be an object");
        const auto& o = t.get_object();
        if (auto ok = only_known_keys(
                o, {"token", "name", "publish", "subscribe", "read", "groups", "admin"}, path);
            !ok) {
            return std::unexpected(ok.error());
        }
        grant g;
        auto tok = o.find("token");
        // Characters, not bytes: "abééé" is five characters, as guessable as "abcde".
        auto characters = [](std::string_view t) {
            return static_cast<std::size_t>(std::ranges::count_if(
                t, [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
        };
        if (tok == o.end() || !tok->value().is_string() ||
            characters(tok->value().get_string()) < min_token_length) {
            return fail(errc::invalid_argument,
                        "config: '" + path + ".token' must be a string of at least " +
                            std::to_string(min_token_length) + " characters");
        }
        g.token = tok->value().get_string();
        // A header cannot carry such a token intact (spaces around it are trimmed), and a
        // token of spaces would pass the length rule while guessable. Outside ASCII the same
        // holds of Unicode's spaces, controls and invisible characters (found from outside:
        // eight U+00A0 passed), and an HTTP header carries none of them as text: printable
        // ASCII only, as Bearer tokens are (RFC 6750, 2.1).
        if (std::ranges::any_of(g.token, [](char c) {
                auto u = static_cast<unsigned char>(c);
                return u <= 0x20 || u >= 0x7f;
            })) {
            return fail(errc::invalid_argument,
                        "config: '" + path +
                            ".token' must be printable ASCII: no spaces, control characters or "
                            "characters beyond ASCII");
        }
        if (auto n = o.find("name"); n != o.end()) {
            if (!n->value().is_string()) {
                return fail(errc::invalid_argument, "config: '" + path + ".name' must be a string");
            }
            g.name = n->value().get_string();
        }
        if (g.name.empty()) g.name = "token#" + std::to_string(p.grants_.size() + 1);
        for (auto [field, into] : {std::pair{"publish", &g.publish},
                                   std::pair{"subscribe", &g.subscribe}, std::pair{"read", &g.read},
                                   std::pair{"groups", &g.groups}, std::pair{"admin", &g.admin}}) {
            auto ps = patterns(o, field, path);
            if (!ps) return std::unexpected(ps.error());
            *into = std::move(*ps);
        }
        if (!o.contains("groups")) g.groups = {"*"};  // no `groups`: any consumer group
        for (const auto& other : p.grants_) {
            if (other.token == g.token) {
                return fail(errc::invalid_argument, "config: '" + path + ".token' appears twice");
            }
        }
        p.grants_.push_back(std::move(g));
    }
    return p;
}

const grant* auth_policy::authenticate(std::optional<std::string_view> authorization) const {
    if (!authorization) return nullptr;
    auto token = bearer_token(*authorization);
    if (!token) return nullptr;
    const grant* found = nullptr;
    for (const auto& g : grants_) {
        if (same_secret(g.token, *token)) found = &g;  // no early exit, see same_secret
    }
    return found;
}

namespace {

const std::vector<std::string>& patterns_of(const grant& g, action what) {
    return what == action::publish     ? g.publish
           : what == action::subscribe ? g.subscribe
           : what == action::group     ? g.groups
           : what == action::admin     ? g.admin
                                       : g.read;
}

}  // namespace

bool auth_policy::permits(const grant& g, action what, std::string_view name) {
    const auto& list = patterns_of(g, what);
    for (const auto& p : list) {
        if (pattern_matches(p, name)) return true;
    }
    return false;
}

bool auth_policy::permits_every(const grant& g, action what, std::string_view pattern) {
    if (!pattern.ends_with('*')) return permits(g, what, pattern);
    const std::string_view prefix = pattern.substr(0, pattern.size() - 1);
    const auto& list = patterns_of(g, what);
    for (const auto& p : list) {
        // `order.*` covers `order.paid*`; an exact name or a narrower prefix covers no pattern
        // wider than itself (`order.*` does not cover `order*` or `*`).
        if (p.ends_with('*') && prefix.starts_with(std::string_view(p).substr(0, p.size() - 1))) {
            return true;
        }
    }
    return false;
}

bool auth_policy::permits_some(const grant& g, action what, std::string_view pattern) {
    if (!pattern.ends_with('*')) return permits(g, what, pattern);
    const std::string_view prefix = pattern.substr(0, pattern.size() - 1);
    for (const auto& p : patterns_of(g, what)) {
        const bool wide = p.ends_with('*');
        const std::string_view own = wide ? std::string_view(p).substr(0, p.size() - 1) : p;
        if (own.starts_with(prefix) || (wide && prefix.starts_with(own))) return true;
    }
    return false;
}

verdict auth_policy::check(std::optional<std::string_view> authorization, action what,
                           std::string_view name) const {
    if (!enabled()) return verdict::allowed;
    const grant* g = authenticate(authorization);
    if (!g) return verdict::unauthenticated;
    return permits(*g, what, name) ? verdict::allowed : verdict::forbidden;
}

}  // namespace prom::auth
