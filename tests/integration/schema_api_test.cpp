// Topic schemas end to end (docs/schemas.md): PUT/GET /schemas over HTTP, enforcement of
// POST /publish, the WebSocket publish op and `prom publish`, the CLI's schema commands, and
// the admin permission.
#include "support/cli_runner.hpp"
#include "support/server_fixture.hpp"
#include "support/ws_client.hpp"

namespace prom::test {
namespace {

constexpr std::string_view metrics_schema =
    R"({"schema":{"type":"object","properties":{"host":{"type":"string"},)"
    R"("cpu_pct":{"type":"number","minimum":0,"maximum":100}},"required":["host"]}})";

json::object object_of(const http_reply& r) {
    auto v = parse_json(r.body);
    EXPECT_TRUE(v && v->is_object()) << r.body;
    return v && v->is_object() ? v->get_object() : json::object{};
}

class schema_api : public server_test {
  protected:
    http_reply put_schema(std::string_view topic, std::string_view body,
                          std::vector<std::pair<std::string, std::string>> headers = {}) {
        headers.emplace_back("Content-Type", "application/json");
        return http_request(port(), "PUT", "/schemas/" + std::string(topic), headers, body);
    }
    std::int64_t count(std::string_view topic) {
        auto t = db().topic(topic);
        return t && *t ? (*t)->count : 0;
    }
};

TEST_F(schema_api, put_get_and_list_versions) {
    auto r = put_schema("metrics", metrics_schema);
    ASSERT_EQ(r.status, 201) << r.body;
    auto o = object_of(r);
    EXPECT_EQ(o.at("version"), 1);
    EXPECT_EQ(o.at("created"), true);
    EXPECT_EQ(o.at("compatibility"), "backward");
    auto again = put_schema("metrics", metrics_schema);
    EXPECT_EQ(again.status, 200) << again.body;
    EXPECT_EQ(object_of(again).at("created"), false);

    auto v2 = put_schema("metrics",
                         R"({"schema":{"type":"object","properties":{"host":{"type":"string"}}}})");
    ASSERT_EQ(v2.status, 201) << v2.body;
    EXPECT_EQ(object_of(v2).at("version"), 2);

    auto one = get("/schemas/metrics");
    ASSERT_EQ(one.status, 200) << one.body;
    auto versions = object_of(one);
    EXPECT_EQ(versions.at("version"), 2);
    ASSERT_EQ(versions.at("versions").as_array().size(), 2u);
    EXPECT_EQ(versions.at("versions").as_array()[0].at("version"), 1);

    auto list = get("/schemas");
    ASSERT_EQ(list.status, 200) << list.body;
    auto l = object_of(list);
    EXPECT_EQ(l.at("count"), 1);
    EXPECT_EQ(l.at("items").as_array()[0].at("topic"), "metrics");
    EXPECT_EQ(l.at("items").as_array()[0].at("version"), 2);

    EXPECT_EQ(get("/schemas/nothing").status, 404);
    EXPECT_EQ(http_request(port(), "DELETE", "/schemas/metrics", {}).status, 405);
}

TEST_F(schema_api, bad_schemas_are_refused_with_422_or_400_and_nothing_is_stored) {
    auto invalid = put_schema("metrics", R"({"schema":{"type":"strnig"}})");
    EXPECT_EQ(invalid.status, 422) << invalid.body;
    EXPECT_EQ(object_of(invalid).at("error"), "invalid_schema");
    EXPECT_EQ(object_of(invalid).at("path"), "/schema/type");
    auto remote = put_schema("metrics", R"({"schema":{"$ref":"https://example.invalid/x.json"}})");
    EXPECT_EQ(remote.status, 422) << remote.body;
    EXPECT_EQ(object_of(remote).at("path"), "/schema/$ref");
    // A $ref chain that comes back to itself once overflowed the server's stack.
    for (std::string_view loop : {R"({"schema":{"$ref":"#"}})", R"({"schema":{"$ref":"#/"}})"}) {
        auto looping = put_schema("metrics", loop);
        EXPECT_EQ(looping.status, 422) << looping.body;
        EXPECT_EQ(object_of(looping).at("error"), "invalid_schema");
    }
    auto topic = put_schema("bad%20topic", R"({"schema":{}})");
    EXPECT_EQ(topic.status, 400) << topic.body;
    EXPECT_EQ(object_of(topic).at("error"), "invalid_topic");
    auto not_json = put_schema("metrics", "{");
    EXPECT_EQ(not_json.status, 400) << not_json.body;
    auto media = http_request(port(), "PUT", "/schemas/metrics", {}, metrics_schema);
    EXPECT_EQ(media.status, 415) << media.body;
    // Deeper than its history document can hold: said with the schema's place (found from
    // outside: `invalid_argument`, "the document would nest deeper than 64 levels").
    auto nested = [](int allofs) {
        std::string s = R"({"type":"object"})";
        for (int i = 0; i < allofs; ++i) s = R"({"allOf":[)" + s + "]}";
        return R"({"schema":)" + s + "}";
    };
    auto deep = put_schema("deep", nested(31));  // 63 levels
    EXPECT_EQ(deep.status, 400) << deep.body;
    EXPECT_EQ(object_of(deep).at("error"), "bad_request");
    EXPECT_EQ(object_of(deep).at("path"), "/schema");
    EXPECT_EQ(put_schema("deep", nested(30)).status, 201);  // 61 levels

    ASSERT_EQ(put_schema("metrics", metrics_schema).status, 201);
    auto narrowed =
        put_schema("metrics", R"({"schema":{"type":"object","properties":{)"
                              R"("host":{"type":"string"},"cpu_pct":{"type":"number"}},)"
                              R"("required":["host","cpu_pct"]}})");
    EXPECT_EQ(narrowed.status, 422) << narrowed.body;
    EXPECT_EQ(object_of(narrowed).at("error"), "incompatible_schema");
    EXPECT_EQ(object_of(narrowed).at("path"), "/schema/required");
    EXPECT_EQ(object_of(get("/schemas/metrics")).at("version"), 1);
}

TEST_F(schema_api, an_invalid_publish_is_422_with_the_pointer_and_the_batch_appends_nothing) {
    ASSERT_EQ(put_schema("metrics", metrics_schema).status, 201);
    auto ok = post_json("/publish", R"({"topic":"metrics","payload":{"host":"a","cpu_pct":5}})");
    EXPECT_EQ(ok.status, 200) << ok.body;
    auto bad = post_json("/publish", R"({"topic":"metrics","payload":{"host":"a","cpu_pct":101}})");
    ASSERT_EQ(bad.status, 422) << bad.body;
    auto o = object_of(bad);
    EXPECT_EQ(o.at("error"), "invalid_payload");
    EXPECT_EQ(o.at("path"), "/payload/cpu_pct");
    EXPECT_EQ(o.at("schema_version"), 1);
    EXPECT_TRUE(o.at("message").is_string());

    auto batch = post_json("/publish", R"({"events":[{"topic":"metrics","payload":{"host":"b"}},)"
                                       R"({"topic":"other","payload":1},)"
                                       R"({"topic":"metrics","payload":{"cpu_pct":1}}]})");
    ASSERT_EQ(batch.status, 422) << batch.body;
    EXPECT_EQ(object_of(batch).at("path"), "/payload/host");
    EXPECT_EQ(count("metrics"), 1);
    EXPECT_EQ(count("other"), 0);
}

// A dead-letter replay whose copy the topic's schema refuses answers as a publish does:
// 422 with the path and the schema version (found from outside: neither was there).
TEST_F(schema_api, a_refused_dead_letter_replay_is_422_with_the_pointer) {
    std::vector<event_input> source(1);
    source[0] = {.topic = "metrics", .payload = json::object{{"host", "a"}}};
    ASSERT_TRUE(db().append(std::move(source)));
    std::vector<event_input> dead(1);
    dead[0] = {.topic = "metrics.dlq",
               .payload = json::object{{"cpu_pct", 5}},
               .headers = {{"prom-group", "g"}, {"prom-source-seq", "1"}}};
    ASSERT_TRUE(db().append(std::move(dead)));
    ASSERT_EQ(put_schema("metrics", metrics_schema).status, 201);
    auto r = post_json("/dlq/metrics/replay", "{}");
    ASSERT_EQ(r.status, 422) << r.body;
    auto o = object_of(r);
    EXPECT_EQ(o.at("error"), "invalid_payload");
    EXPECT_EQ(o.at("path"), "/payload/host");
    EXPECT_EQ(o.at("schema_version"), 1);
    EXPECT_EQ(count("metrics"), 1);
}

TEST_F(schema_api, the_websocket_publish_op_is_checked_too) {
    ASSERT_EQ(put_schema("metrics", metrics_schema).status, 201);
    raw_ws::handshake hs;
    auto ws = raw_ws::connect(port(), hs, "/ws", {});
    ASSERT_EQ(hs.status, 101) << hs.response;
    ws->send_text(R"({"op":"publish","id":"p1","event":{"topic":"metrics","payload":{"host":3}}})");
    std::optional<json::value> answer;
    for (int i = 0; i < 20 && !answer; ++i) {
        auto text = ws->read_text();
        ASSERT_TRUE(text);
        auto v = parse_json(*text);
        if (v && v->is_object() && v->at("op") == "error") answer = *v;
    }
    ASSERT_TRUE(answer);
    EXPECT_EQ(answer->at("error"), "invalid_payload");
    EXPECT_EQ(answer->at("id"), "p1");
    EXPECT_EQ(answer->at("path"), "/payload/host");
    EXPECT_EQ(answer->at("schema_version"), 1);
    EXPECT_EQ(count("metrics"), 0);
}

TEST(schema_cli, set_ls_show_and_publish_enforcement) {
    temp_dir dir;
    std::string db = "--db sqlite:" + dir.file("p.db");
    std::string file = dir.file("metrics.json");
    {
        std::FILE* f = std::fopen(file.c_str(), "w");
        std::string s =
            R"({"type":"object","properties":{"host":{"type":"string"}},"required":["host"]})";
        std::fwrite(s.data(), 1, s.size(), f);
        std::fclose(f);
    }
    auto set = run_prom("schema set metrics " + file + " " + db);
    ASSERT_EQ(set.exit_code, 0) << set.out;
    EXPECT_NE(set.out.find(R"("result":"created")"), std::string::npos) << set.out;
    EXPECT_NE(set.out.find(R"("version":1)"), std::string::npos) << set.out;
    auto ls = run_prom("schema ls " + db);
    ASSERT_EQ(ls.exit_code, 0);
    EXPECT_NE(ls.out.find(R"("topic":"metrics")"), std::string::npos) << ls.out;
    auto show = run_prom("schema show metrics " + db);
    ASSERT_EQ(show.exit_code, 0);
    EXPECT_NE(show.out.find(R"("versions":[)"), std::string::npos) << show.out;
    EXPECT_EQ(run_prom("schema show nothing " + db).exit_code, 1);

    auto good = run_prom("publish metrics '{\"host\":\"a\"}' " + db);
    EXPECT_EQ(good.exit_code, 0) << good.out;
    auto bad = run_prom("publish metrics '{\"host\":1}' " + db, true);
    EXPECT_EQ(bad.exit_code, 2) << bad.out;
    EXPECT_NE(bad.out.find("/payload/host"), std::string::npos) << bad.out;

    {
        std::FILE* f = std::fopen(file.c_str(), "w");
        std::string s =
            R"({"type":"object","properties":{"host":{"type":"integer"}},"required":["host"]})";
        std::fwrite(s.data(), 1, s.size(), f);
        std::fclose(f);
    }
    auto incompatible = run_prom("schema set metrics " + file + " " + db, true);
    EXPECT_EQ(incompatible.exit_code, 2) << incompatible.out;
    EXPECT_NE(incompatible.out.find("incompatible_schema at /properties/host/type"),
              std::string::npos)
        << incompatible.out;
    auto forced = run_prom("schema set metrics " + file + " --compatibility none " + db);
    EXPECT_EQ(forced.exit_code, 0) << forced.out;
    EXPECT_NE(forced.out.find(R"("version":2)"), std::string::npos) << forced.out;
    auto builtin = run_prom("schema builtin heartbeat.received");
    EXPECT_EQ(builtin.exit_code, 0);
    EXPECT_NE(builtin.out.find(R"("required":["pid","name","host"])"), std::string::npos)
        << builtin.out;
}

// A file with a top-level "schema" is the PUT body and is checked like it: a typo in the
// wrapper must not become a schema that accepts everything.
TEST(schema_cli, a_wrapper_with_an_unknown_field_is_refused_not_stored_as_the_schema) {
    temp_dir dir;
    std::string db = "--db sqlite:" + dir.file("p.db");
    auto write = [&](const std::string& name, const std::string& text) {
        std::string path = dir.file(name);
        std::FILE* f = std::fopen(path.c_str(), "w");
        std::fwrite(text.data(), 1, text.size(), f);
        std::fclose(f);
        return path;
    };
    // `prom schema set wr FILE [OPTIONS]` with FILE holding `text`.
    auto set = [&](const std::string& name, const std::string& text, const std::string& options) {
        return run_prom("schema set wr " + write(name, text) + options + " " + db, true);
    };
    auto typo = set("typo.json", R"({"schema":{"type":"integer"},"compatability":"none"})", "");
    EXPECT_EQ(typo.exit_code, 2) << typo.out;
    EXPECT_NE(typo.out.find("compatability"), std::string::npos) << typo.out;
    auto both = set("both.json", R"({"schema":{"type":"integer"},"compatibility":"none"})",
                    " --compatibility backward");
    EXPECT_EQ(both.exit_code, 2) << both.out;
    auto ok = run_prom("schema set wr " + dir.file("both.json") + " " + db);
    EXPECT_EQ(ok.exit_code, 0) << ok.out;
    EXPECT_EQ(run_prom("publish wr '\"not an integer\"' " + db).exit_code, 2);
    // A bare schema's problem is pointed at within the file, not within the body made of it.
    auto bare = set("bare.json", R"({"properties":{"n":{"type":"integerz"}}})", "");
    EXPECT_EQ(bare.exit_code, 2) << bare.out;
    EXPECT_NE(bare.out.find("at /properties/n/type"), std::string::npos) << bare.out;
    EXPECT_EQ(bare.out.find("/schema"), std::string::npos) << bare.out;
}

class schema_admin : public schema_api {
  protected:
    server::serve_config make_config() override {
        auto c = server_test::make_config();
        auto p = auth::auth_policy::from_json(*parse_json(
            R"({"tokens":[{"token":"admin-token-1","admin":["metrics"],"publish":["*"]},)"
            R"({"token":"publisher-token-1","publish":["*"]}]})"));
        EXPECT_TRUE(p) << p.error().message;
        c.auth = std::move(*p);
        return c;
    }
};

TEST_F(schema_admin, put_needs_the_admin_permission_and_reads_need_a_token) {
    EXPECT_EQ(put_schema("metrics", metrics_schema).status, 401);
    EXPECT_EQ(put_schema("metrics", metrics_schema, {{"Authorization", "Bearer publisher-token-1"}})
                  .status,
              403);
    EXPECT_EQ(
        put_schema("other", metrics_schema, {{"Authorization", "Bearer admin-token-1"}}).status,
        403);
    EXPECT_EQ(
        put_schema("metrics", metrics_schema, {{"Authorization", "Bearer admin-token-1"}}).status,
        201);
    EXPECT_EQ(get("/schemas").status, 401);
    EXPECT_EQ(get("/schemas", {{"Authorization", "Bearer publisher-token-1"}}).status, 200);
}

}  // namespace
}  // namespace prom::test
