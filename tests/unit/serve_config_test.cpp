// `prom serve` settings: the config file and --listen.
#include "server/serve_config.hpp"

#include <gtest/gtest.h>

#include "server/demo.hpp"

namespace prom::server {
namespace {

TEST(serve_config, defaults_follow_the_spec) {
    serve_config c;
    EXPECT_EQ(c.host, "127.0.0.1");
    EXPECT_EQ(c.port, 8091);
    EXPECT_EQ(c.collection, "processes");
    EXPECT_EQ(c.max_age_seconds, 5);
    EXPECT_EQ(c.body_limit, 200u * 1024);
    EXPECT_EQ(c.stale_after, std::chrono::seconds(30));
}

TEST(serve_config, a_file_sets_every_setting) {
    serve_config c;
    ASSERT_TRUE(apply_config_json(R"({"listen":"0.0.0.0:9000","db":"memory:","collection":"docs",
        "max_age":60,"body_limit":1024,"header_limit":4096,"stale_after_ms":10000,
        "projectors":[],"threads":3,"blocking_threads":2,"read_timeout_ms":500,
        "shutdown_deadline_ms":100,"cache_ttl_ms":0,"cache_entries":10,"cache_bytes":2097152,"durable":false})",
                                  c));
    EXPECT_EQ(c.host, "0.0.0.0");
    EXPECT_EQ(c.port, 9000);
    EXPECT_EQ(c.db, "memory:");
    EXPECT_EQ(c.collection, "docs");
    EXPECT_EQ(c.max_age_seconds, 60);
    EXPECT_EQ(c.body_limit, 1024u);
    EXPECT_TRUE(c.projectors.empty());
    EXPECT_EQ(c.threads, 3u);
    EXPECT_EQ(c.read_timeout, std::chrono::milliseconds(500));
    EXPECT_EQ(c.cache_bytes, 2097152u);
    EXPECT_FALSE(c.durable);
}

TEST(serve_config, typos_and_wrong_types_are_errors) {
    for (auto bad : {R"({"listn":"x:1"})", R"({"max_age":"5"})", R"({"max_age":-1})",
                     R"({"projectors":["nope"]})", R"({"listen":"nohost"})", R"([])", "{",
                     R"({"body_limit":0})", R"({"durable":1})", R"({"cache_bytes":1000})",
                     R"({"collection":""})", R"({"collection":"a b/c"})",
                     R"({"collection":"_prom.projectors"})"}) {
        serve_config c;
        auto r = apply_config_json(bad, c);
        ASSERT_FALSE(r) << bad;
        EXPECT_EQ(r.error().code, errc::invalid_argument);
    }
}

// A typo anywhere in the config is an error that names the path of the unknown key; in the
// auth section above all, where ignoring it would start the server with auth off.
TEST(serve_config, unknown_keys_at_every_level_are_errors_naming_their_path) {
    struct bad_case {
        const char* config;
        const char* path;
    };
    for (
        const auto& c : std::vector<bad_case>{
            {R"({"listn":"x:1"})", "'listn'"},
            {R"({"auth":{"tokenz":[]}})", "'auth.tokenz'"},
            {R"({"auth":{"tokens":[],"extra":1}})", "'auth.extra'"},
            {R"({"auth":{"tokens":[{"token":"long-enough-1","publsh":["t"]}]}})",
             "'auth.tokens[0].publsh'"},
            {R"({"auth":{"tokens":[{"token":"long-enough-1"},{"token":"long-enough-2","nmae":"x"}]}})",
             "'auth.tokens[1].nmae'"},
            {R"({"auth":{"tokens":[{"token":"long-enough-1","name":7}]}})",
             "'auth.tokens[0].name'"},
            {R"({"auth":{"tokens":[{"token":"long-enough-1","read":[{"topic":"x"}]}]}})",
             "'auth.tokens[0].read'"},
            {R"({"auth":[]})", "'auth'"},
        }) {
        serve_config cfg;
        auto r = apply_config_json(c.config, cfg);
        ASSERT_FALSE(r) << c.config;
        EXPECT_EQ(r.error().code, errc::invalid_argument);
        EXPECT_NE(r.error().message.find(c.path), std::string::npos) << r.error().message;
        EXPECT_FALSE(cfg.auth.enabled());
    }
}

TEST(serve_config, auth_tokens_turn_auth_on_and_count) {
    serve_config c;
    ASSERT_TRUE(apply_config_json(
        R"({"auth":{"tokens":[{"token":"long-enough-1","name":"a","publish":["t.*"],"subscribe":["*"],"read":["x"]},
                              {"token":"long-enough-2"}]}})",
        c));
    EXPECT_TRUE(c.auth.enabled());
    EXPECT_EQ(c.auth.token_count(), 2u);
    EXPECT_EQ(auth_summary(c.auth), "auth on (2 tokens)");
    EXPECT_EQ(auth_summary(serve_config{}.auth), "auth off");
}

// Only leaving `auth` out runs without authentication: an `auth` section that holds no token,
// or a second `auth` key that would replace the first, is refused, never read as auth off.
TEST(serve_config, an_auth_section_that_would_switch_auth_off_is_refused) {
    struct bad_case {
        const char* config;
        const char* says;
    };
    const std::string token = R"({"token":"long-enough-1","read":["*"]})";
    const std::string dup_top = R"({"auth":{"tokens":[)" + token + R"(]},"max_age":5,"auth":{}})";
    const std::string dup_inner = R"({"auth":{"tokens":[)" + token + R"(],"tokens":[]}})";
    for (const auto& c : std::vector<bad_case>{
             {R"({"auth":{}})", "'auth.tokens' must be an array"},
             {R"({"auth":null})", "'auth' must be an object"},
             {R"({"auth":{"tokens":[]}})", "'auth.tokens' is empty"},
             {R"({"auth":{"tokens":null}})", "'auth.tokens' must be an array"},
             {dup_top.c_str(), "duplicate key at '/auth'"},
             {dup_inner.c_str(), "duplicate key at '/auth/tokens'"},
             {R"({"auth":{"tokens":[{"token":"          "}]}})", "no spaces, control"},
             {R"({"auth":{"tokens":[{"token":"long enough"}]}})", "no spaces, control"},
         }) {
        serve_config cfg;
        auto r = apply_config_json(c.config, cfg);
        ASSERT_FALSE(r) << c.config;
        EXPECT_EQ(r.error().code, errc::invalid_argument);
        EXPECT_NE(r.error().message.find(c.says), std::string::npos) << r.error().message;
        EXPECT_FALSE(cfg.auth.enabled());
    }
}

TEST(serve_config, a_token_shorter_than_the_minimum_is_refused_with_the_minimum_named) {
    serve_config c;
    auto r = apply_config_json(R"({"auth":{"tokens":[{"token":"s3cret"}]}})", c);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("at least 8 characters"), std::string::npos)
        << r.error().message;
}

TEST(serve_config, listen_takes_host_and_port) {
    serve_config c;
    ASSERT_TRUE(parse_listen("127.0.0.1:0", c));
    EXPECT_EQ(c.port, 0);
    ASSERT_TRUE(parse_listen("[::1]:8080", c));
    EXPECT_EQ(c.host, "::1");
    EXPECT_EQ(c.port, 8080);
    ASSERT_TRUE(parse_listen(":8081", c));
    EXPECT_EQ(c.host, "127.0.0.1");
    ASSERT_TRUE(parse_listen("localhost:8082", c));  // what people type for loopback
    EXPECT_EQ(c.host, "127.0.0.1");
    ASSERT_TRUE(parse_listen("LOCALHOST:8083", c));  // host names know no case
    EXPECT_EQ(c.host, "127.0.0.1");
    for (auto bad : {"", "host", "host:", "host:70000", "host:8a", "host:-1"}) {
        EXPECT_FALSE(parse_listen(bad, c)) << bad;
    }
    // Not an address: said so, rather than refused later as a public address without auth
    // (found from outside).
    for (auto bad : {" 127.0.0.1:8080", "127.0.0.1 :8080", "example.com:8080", "[::1:8080"}) {
        auto r = parse_listen(bad, c);
        ASSERT_FALSE(r) << bad;
        EXPECT_NE(r.error().message.find("bad host"), std::string::npos) << r.error().message;
    }
}

TEST(serve_config, loopback_hosts_are_told_apart_from_public_ones) {
    for (auto h : {"127.0.0.1", "127.1.2.3", "::1", "0:0:0:0:0:0:0:1", "localhost", "LocalHost"}) {
        EXPECT_TRUE(is_loopback_host(h)) << h;
    }
    for (auto h : {"0.0.0.0", "::", "10.0.0.1", "128.0.0.1", "127.example.com", "::2"}) {
        EXPECT_FALSE(is_loopback_host(h)) << h;
    }
}

// --demo's guide prints CLI commands only for a database they can open: with memory: they
// would open an empty one of their own (found from outside).
TEST(demo_instructions, print_cli_commands_only_for_a_database_they_can_open) {
    using namespace std::chrono_literals;
    const auto mem = demo_instructions("http://127.0.0.1:8080", 10s, "prom", "memory:");
    EXPECT_EQ(mem.find("--db"), std::string::npos) << mem;
    EXPECT_NE(mem.find("over HTTP"), std::string::npos) << mem;
    const auto file = demo_instructions("http://127.0.0.1:8080", 10s, "prom", "sqlite:/tmp/x.db");
    EXPECT_NE(file.find("prom topics --db '"), std::string::npos) << file;
}

}  // namespace
}  // namespace prom::server
