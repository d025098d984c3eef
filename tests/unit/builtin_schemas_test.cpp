// The schemas prom ships for its built-in topics take what the process projector takes
// (docs/process-projector.md), so that storing them changes nothing a documented publisher
// does (found from outside: `"processId": null`, which counts as absent, was refused).
#include "schema/builtin_schemas.hpp"

#include <gtest/gtest.h>

#include "schema/json_schema.hpp"

namespace prom::schema {
namespace {

std::shared_ptr<const compiled_schema> builtin(std::string_view topic) {
    for (const auto& b : builtin_schemas()) {
        if (b.topic != topic) continue;
        auto c = compiled_schema::compile(*parse_json(b.text));
        EXPECT_TRUE(c.has_value()) << topic;
        return c ? *c : nullptr;
    }
    ADD_FAILURE() << "no built-in schema for " << topic;
    return nullptr;
}

TEST(builtin_schemas, every_one_compiles) {
    for (const auto& b : builtin_schemas()) builtin(b.topic);
}

TEST(builtin_schemas, a_heartbeat_takes_what_the_process_projector_takes) {
    auto hb = builtin("heartbeat.received");
    ASSERT_TRUE(hb);
    for (std::string_view ok : {R"({"pid":1,"name":"api","host":"web-1"})",
                                R"({"pid":"1","name":"api","host":"web-1","processId":"p"})",
                                R"({"pid":1,"name":"api","host":"web-1","processId":null})",
                                R"({"pid":1,"name":"api","host":"web-1","cpu_pct":"high"})"}) {
        EXPECT_FALSE(hb->first_violation(*parse_json(ok))) << ok;
    }
    // What dead-letters the heartbeat is refused by the schema too.
    for (std::string_view bad : {R"({"pid":1,"name":"api","host":"web-1","processId":""})",
                                 R"({"pid":1,"name":"api","host":"web-1","processId":5})",
                                 R"({"name":"api","host":"web-1"})"}) {
        EXPECT_TRUE(hb->first_violation(*parse_json(bad))) << bad;
    }
}

}  // namespace
}  // namespace prom::schema
