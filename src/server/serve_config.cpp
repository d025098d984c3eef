#include "server/serve_config.hpp"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>
#include <filesystem>

#include "core/json_int.hpp"
#include "core/text.hpp"
#include "core/text_file.hpp"
#include "docs/reserved.hpp"
#include "docs/update.hpp"
#include "prom/json.hpp"

namespace prom::server {

namespace {

result<std::int64_t> int_field(const json::value& v, std::string_view name, std::int64_t min,
                               std::int64_t max) {
    auto n = int64_of(v);
    if (!n) {
        return fail(errc::invalid_argument,
                    "config: '" + std::string(name) + "' must be an integer");
    }
    if (*n < min || *n > max) {
        return fail(errc::invalid_argument, "config: '" + std::string(name) + "' must be in " +
                                                std::to_string(min) + ".." + std::to_string(max));
    }
    return *n;
}

result<std::string> string_field(const json::value& v, std::string_view name) {
    if (!v.is_string())
        return fail(errc::invalid_argument, "config: '" + std::string(name) + "' must be a string");
    return std::string(v.get_string());
}

}  // namespace

result<retention_settings> parse_retention_config(const json::value& v) {
    if (!v.is_object()) {
        return fail(errc::invalid_argument,
                    "config: 'retention' must be an object with \"interval_ms\", \"policies\", "
                    "\"snapshots\", \"batch_events\" and \"pause_ms\"");
    }
    retention_settings out;
    for (const auto& kv : v.get_object()) {
        std::string_view k = kv.key();
        if (k == "interval_ms") {
            auto n = int_field(kv.value(), "retention.interval_ms", 10, 86'400'000);
            if (!n) return std::unexpected(n.error());
            out.interval = std::chrono::milliseconds(*n);
        } else if (k == "batch_events") {
            auto n = int_field(kv.value(), "retention.batch_events", 1, 100'000);
            if (!n) return std::unexpected(n.error());
            out.batch_events = static_cast<std::size_t>(*n);
        } else if (k == "pause_ms") {
            auto n = int_field(kv.value(), "retention.pause_ms", 0, 10'000);
            if (!n) return std::unexpected(n.error());
            out.pause = std::chrono::milliseconds(*n);
        } else if (k == "snapshots") {
            if (!kv.value().is_bool()) {
                return fail(errc::invalid_argument,
                            "config: 'retention.snapshots' must be true or false");
            }
            out.snapshots = kv.value().get_bool();
        } else if (k == "policies") {
            if (!kv.value().is_array()) {
                return fail(errc::invalid_argument,
                            "config: 'retention.policies' must be an array of policies");
            }
            const auto& a = kv.value().get_array();
            for (std::size_t i = 0; i < a.size(); ++i) {
                std::string at = "config: retention.policies[" + std::to_string(i) + "]: ";
                const json::object* o = a[i].if_object();
                if (!o || !o->contains("topic") || !o->at("topic").is_string()) {
                    return fail(errc::invalid_argument,
                                at + "a policy is an object with \"topic\" (a name or a "
                                     "prefix pattern like \"order.*\")");
                }
                std::string_view topic = o->at("topic").get_string();
                auto p = retention::parse_policy(topic, a[i]);
                if (!p) return fail(errc::invalid_argument, at + p.error().message);
                for (const auto& before : out.policies) {
                    if (before.pattern == p->pattern) {
                        return fail(errc::invalid_argument,
                                    at + "a second policy for '" + p->pattern + "'");
                    }
                }
                out.policies.push_back(std::move(*p));
            }
        } else {
            return fail(errc::invalid_argument,
                        "config: unknown key 'retention." + std::string(k) +
                            "' (it takes interval_ms, policies, snapshots, batch_events, "
                            "pause_ms)");
        }
    }
    return out;
}

status parse_listen(std::string_view text, serve_config& c) {
    auto colon = text.rfind(':');
    if (colon == std::string_view::npos) {
        return fail(errc::invalid_argument, "listen address must be HOST:PORT");
    }
    std::string_view host = text.substr(0, colon);
    std::string_view port = text.substr(colon + 1);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
        host = host.substr(1, host.size() - 2);
    }
    unsigned p = 0;
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
    if (port.empty() || ec != std::errc() || end != port.data() + port.size() || p > 65535) {
        return fail(errc::invalid_argument,
                    "bad port in listen address '" + std::string(text) + "'");
    }
    // The listener takes IP addresses only; `localhost` (any case, as host names go) is what
    // people type for loopback. Anything else is a bad address, not a host to refuse for
    // want of auth (" 127.0.0.1" was refused as if it were a public address).
    if (host.empty() || iequals(host, "localhost")) {
        c.host = "127.0.0.1";
    } else {
        std::string ip(host);
        in6_addr any{};
        if (::inet_pton(AF_INET, ip.c_str(), &any) != 1 &&
            ::inet_pton(AF_INET6, ip.c_str(), &any) != 1) {
            return fail(errc::invalid_argument,
                        "bad host in listen address '" + std::string(text) +
                            "': an IP address (127.0.0.1, [::1], 0.0.0.0) or localhost");
        }
        c.host = std::move(ip);
    }
    c.port = static_cast<std::uint16_t>(p);
    return {};
}

status apply_config_json(std::string_view text, serve_config& c) {
    auto parsed = parse_json(text, json_file_limits);
    if (!parsed) return fail(errc::invalid_argument, "config: " + parsed.error().message);
    if (!parsed->is_object()) return fail(errc::invalid_argument, "config: must be a JSON object");
    for (const auto& kv : parsed->get_object()) {
        std::string_view k = kv.key();
        const json::value& v = kv.value();
        auto set_ms = [&](std::chrono::milliseconds& out, std::int64_t min) -> status {
            auto n = int_field(v, k, min, 86'400'000);
            if (!n) return std::unexpected(n.error());
            out = std::chrono::milliseconds(*n);
            return {};
        };
        status ok;
        if (k == "listen") {
            auto s = string_field(v, k);
            ok = s ? parse_listen(*s, c) : status(std::unexpected(s.error()));
        } else if (k == "db") {
            auto s = string_field(v, k);
            if (s)
                c.db = *s;
            else
                ok = std::unexpected(s.error());
        } else if (k == "collection") {
            auto s = string_field(v, k);
            if (!s) {
                ok = std::unexpected(s.error());
            } else if (!docs::valid_collection_name(*s) || docs::reserved_collection(*s)) {
                ok = fail(errc::invalid_argument,
                          "config: 'collection' must be a collection name ([A-Za-z0-9_.-], 1-128 "
                          "bytes, not starting with \"_prom.\"): '" +
                              *s + "'");
            } else {
                c.collection = *s;
            }
        } else if (k == "max_age") {
            auto n = int_field(v, k, 0, 31'536'000);
            if (n)
                c.max_age_seconds = static_cast<int>(*n);
            else
                ok = std::unexpected(n.error());
        } else if (k == "body_limit") {
            auto n = int_field(v, k, 1, std::int64_t{64} * 1024 * 1024);
            if (n)
                c.body_limit = static_cast<std::size_t>(*n);
            else
                ok = std::unexpected(n.error());
        } else if (k == "header_limit") {
            auto n = int_field(v, k, 1024, std::int64_t{1024} * 1024);
            if (n)
                c.header_limit = static_cast<std::size_t>(*n);
            else
                ok = std::unexpected(n.error());
        } else if (k == "stale_after_ms") {
            ok = set_ms(c.stale_after, 1);
        } else if (k == "read_timeout_ms") {
            ok = set_ms(c.read_timeout, 1);
        } else if (k == "db_wait_ms") {
            ok = set_ms(c.db_wait, 0);
        } else if (k == "shutdown_deadline_ms") {
            ok = set_ms(c.shutdown_deadline, 0);
        } else if (k == "cache_ttl_ms") {
            ok = set_ms(c.cache_ttl, 0);
        } else if (k == "cache_entries") {
            auto n = int_field(v, k, 1, 100'000'000);
            if (n)
                c.cache_entries = static_cast<std::size_t>(*n);
            else
                ok = std::unexpected(n.error());
        } else if (k == "cache_bytes") {
            auto n = int_field(v, k, 1 << 20, std::int64_t{1} << 40);
            if (n)
                c.cache_bytes = static_cast<std::size_t>(*n);
            else
                ok = std::unexpected(n.error());
        } else if (k == "threads") {
            auto n = int_field(v, k, 0, 1024);
            if (n)
                c.threads = static_cast<unsigned>(*n);
            else
                ok = std::unexpected(n.error());
        } else if (k == "blocking_threads") {
            auto n = int_field(v, k, 1, 1024);
            if (n)
                c.blocking_threads = static_cast<unsigned>(*n);
            else
                ok = std::unexpected(n.error());
        } else if (k == "durable") {
            if (v.is_bool())
                c.durable = v.get_bool();
            else
                ok = fail(errc::invalid_argument, "config: 'durable' must be true or false");
        } else if (k == "auth") {
            auto p = auth::auth_policy::from_json(v);
            if (p)
                c.auth = std::move(*p);
            else
                ok = std::unexpected(p.error());
        } else if (k == "ws_send_timeout_ms") {
            ok = set_ms(c.ws_send_timeout, 1);
        } else if (k == "ws_max_message") {
            auto n = int_field(v, k, 1024, std::int64_t{64} * 1024 * 1024);
            if (n)
                c.ws_max_message = static_cast<std::size_t>(*n);
            else
                ok = std::unexpected(n.error());
        } else if (k == "insecure_listen_any") {
            if (v.is_bool())
                c.insecure_listen_any = v.get_bool();
            else
                ok = fail(errc::invalid_argument,
                          "config: 'insecure_listen_any' must be true or false");
        } else if (k == "projectors") {
            if (!v.is_array()) {
                ok = fail(errc::invalid_argument, "config: 'projectors' must be an array of names");
            } else {
                c.projectors.clear();
                c.projector_files.clear();
                for (const auto& p : v.get_array()) {
                    // A definition file: exactly {"file": "path"}.
                    if (p.is_object() && p.get_object().size() == 1 &&
                        p.get_object().contains("file") && p.get_object().at("file").is_string()) {
                        c.projector_files.emplace_back(p.get_object().at("file").get_string());
                        continue;
                    }
                    if (!p.is_string() || p.get_string() != "process") {
                        ok = fail(
                            errc::invalid_argument,
                            "config: 'projectors' entries are \"process\" or {\"file\": PATH}");
                        break;
                    }
                    c.projectors.emplace_back(p.get_string());
                }
            }
        } else if (k == "slo") {
            auto rules = ops::parse_slo_rules(v);
            if (rules)
                c.slo = std::move(*rules);
            else
                ok = std::unexpected(rules.error());
        } else if (k == "slo_interval_ms") {
            ok = set_ms(c.slo_interval, 10);
        } else if (k == "retention") {
            auto r = parse_retention_config(v);
            if (r)
                c.retention = std::move(*r);
            else
                ok = std::unexpected(r.error());
        } else if (k == "projectors_dir") {
            auto s = string_field(v, k);
            if (s)
                c.projectors_dir = *s;
            else
                ok = std::unexpected(s.error());
        } else {
            ok = fail(errc::invalid_argument, "config: unknown key '" + std::string(k) + "'");
        }
        if (!ok) return ok;
    }
    return {};
}

std::string auth_summary(const auth::auth_policy& auth) {
    if (!auth.enabled()) return "auth off";
    auto n = auth.token_count();
    return "auth on (" + std::to_string(n) + (n == 1 ? " token)" : " tokens)");
}

bool is_loopback_host(std::string_view host) {
    if (iequals(host, "localhost")) return true;
    const std::string ip(host);
    in_addr v4{};
    if (::inet_pton(AF_INET, ip.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
    in6_addr v6{};
    return ::inet_pton(AF_INET6, ip.c_str(), &v6) == 1 &&
           std::memcmp(&v6, &in6addr_loopback, sizeof v6) == 0;
}

status load_config_file(const std::string& path, serve_config& c) {
    auto text = read_text_file(path, "config file ");
    if (!text) return std::unexpected(text.error());
    c.config_dir = std::filesystem::path(path).parent_path().string();
    return apply_config_json(*text, c);
}

}  // namespace prom::server
