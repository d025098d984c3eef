// A `prom serve` node started in-process for each test: a fresh SQLite database in the
// test's temporary directory, an ephemeral loopback port, short timeouts.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "prom/json.hpp"
#include "server/node.hpp"
#include "support/http_client.hpp"
#include "support/test_support.hpp"

namespace prom::test {

class server_test : public ::testing::Test {
  protected:
    // Projectors off by default, so that documents change only when a test writes them.
    virtual server::serve_config make_config();

    void SetUp() override;
    void TearDown() override;
    void restart();  // stop, then start a new node on the same database

    std::uint16_t port() const { return node_->port(); }
    store& db() { return node_->storage(); }

    // Writes a whole document (a replacement; `_ts` in `fields` sets the document's _ts).
    document put(std::string_view collection, std::string_view key, json::object fields);
    // Every document of a collection, as /list would order them.
    std::vector<document> all(std::string_view collection);
    // The value of an unlabelled gauge in /metrics (-1 when absent), and whether it reaches
    // `want` within 5 s (watchers and held reads are counted as they come and go).
    std::int64_t gauge(std::string_view name);
    bool gauge_becomes(std::string_view name, std::int64_t want);

    http_reply get(std::string_view target,
                   const std::vector<std::pair<std::string, std::string>>& headers = {}) {
        return http_request(port(), "GET", target, headers);
    }
    http_reply head(std::string_view target,
                    const std::vector<std::pair<std::string, std::string>>& headers = {}) {
        return http_request(port(), "HEAD", target, headers);
    }
    http_reply post_json(std::string_view target, std::string_view body) {
        return http_request(port(), "POST", target, {{"Content-Type", "application/json"}}, body);
    }

    temp_dir dir_;
    std::string db_url_;
    std::unique_ptr<server::node> node_;
};

}  // namespace prom::test
