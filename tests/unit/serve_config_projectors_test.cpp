// The "projectors" and "projectors_dir" settings of `prom serve`.
#include <gtest/gtest.h>

#include "server/serve_config.hpp"

namespace prom::server {
namespace {

TEST(serve_config_projectors, files_and_a_folder_of_definitions_are_accepted) {
    serve_config c;
    ASSERT_TRUE(apply_config_json(
        R"({"projectors":["process",{"file":"p/orders.json"}],"projectors_dir":"defs"})", c));
    EXPECT_EQ(c.projectors, std::vector<std::string>{"process"});
    EXPECT_EQ(c.projector_files, std::vector<std::string>{"p/orders.json"});
    EXPECT_EQ(c.projectors_dir, "defs");
}

TEST(serve_config_projectors, anything_else_in_projectors_is_refused) {
    for (auto text : {R"({"projectors":[{"file":1}]})", R"({"projectors":[{"file":"a","x":1}]})",
                      R"({"projectors":["other"]})", R"({"projectors_dir":3})"}) {
        serve_config c;
        EXPECT_FALSE(apply_config_json(text, c)) << text;
    }
}

}  // namespace
}  // namespace prom::server
