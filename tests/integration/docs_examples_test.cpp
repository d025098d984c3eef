// Every example marked runnable in docs/*.md runs as written against a `prom serve --demo`
// started here (docs/README.md says how blocks are marked). A doc whose example fails
// fails this test, with the block's file, line and output.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "prom/json.hpp"
#include "server/node.hpp"
#include "server/serve_config.hpp"
#include "support/http_client.hpp"
#include "support/test_support.hpp"
#include "support/ws_client.hpp"
#include "ws/protocol.hpp"

namespace prom {
namespace {

using namespace std::chrono_literals;

// A fenced block whose info string holds the word `doctest`: ```sh doctest, ```json doctest
// config, … (see docs/README.md).
struct doc_block {
    std::string file;
    int line = 0;  // of the opening fence
    std::string lang;
    std::string mode;  // the word after `doctest`, if any: config, publish, ws
    std::string text;
    std::string where() const { return file + ":" + std::to_string(line); }
};

std::vector<doc_block> runnable_blocks(const std::filesystem::path& docs) {
    std::vector<std::filesystem::path> files;
    for (const auto& entry : std::filesystem::directory_iterator(docs)) {
        if (entry.path().extension() == ".md") files.push_back(entry.path());
    }
    std::sort(files.begin(), files.end());
    std::vector<doc_block> out;
    for (const auto& path : files) {
        std::ifstream in(path);
        std::string line;
        int n = 0;
        std::optional<doc_block> open;
        bool in_other_block = false;
        while (std::getline(in, line)) {
            ++n;
            if (!line.starts_with("```")) {
                if (open) open->text += line + "\n";
                continue;
            }
            if (open) {
                out.push_back(std::move(*open));
                open.reset();
                continue;
            }
            if (in_other_block) {
                in_other_block = false;
                continue;
            }
            std::istringstream info(line.substr(3));
            std::vector<std::string> words;
            for (std::string w; info >> w;) words.push_back(w);
            auto tag = std::find(words.begin(), words.end(), "doctest");
            if (tag == words.end()) {
                in_other_block = true;
                continue;
            }
            doc_block b;
            b.file = path.filename().string();
            b.line = n;
            b.lang = words.empty() ? "" : words.front();
            if (tag + 1 != words.end()) b.mode = *(tag + 1);
            open = std::move(b);
        }
    }
    return out;
}

// Runs `script` with bash (-euo pipefail) in `cwd` with `env` added; exit code and output.
std::pair<int, std::string> run_bash(const std::string& script, const std::filesystem::path& cwd,
                                     const std::string& env) {
    auto file = cwd / "example.sh";
    {
        std::ofstream out(file);
        out << "set -euo pipefail\n" << script;
    }
    std::string cmd =
        "cd '" + cwd.string() + "' && " + env + " timeout 60 bash '" + file.string() + "' 2>&1";
    FILE* p = ::popen(cmd.c_str(), "r");
    std::string output;
    std::array<char, 4096> buf;
    std::size_t got;
    while ((got = std::fread(buf.data(), 1, buf.size(), p)) > 0) output.append(buf.data(), got);
    int status = ::pclose(p);
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, output};
}

// Each non-empty line a JSON text, or the whole block one.
std::vector<std::string> json_texts(const std::string& text) {
    if (parse_json(text)) return {text};
    std::vector<std::string> lines;
    std::istringstream in(text);
    for (std::string l; std::getline(in, l);) {
        if (!l.empty()) lines.push_back(l);
    }
    return lines;
}

void replace_all(std::string& s, std::string_view from, std::string_view to) {
    for (auto at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size())) {
        s.replace(at, from.size(), to);
    }
}

class docs_examples : public testing::Test {
  protected:
    void SetUp() override {
        if (test::integration_backend_missing()) GTEST_SKIP() << "no PROM_TEST_PG_URL";
        db_url_ = test::integration_db_url(dir_);
        server::serve_config c;
        c.db = db_url_;
        c.port = 0;
        c.demo = true;  // the examples read the demo's processes
        c.stale_after = 10s;
        c.durable = false;
        auto n = server::node::start(c);
        ASSERT_TRUE(n) << n.error().message;
        node_ = std::move(*n);
        // The demo's first heartbeats have become documents.
        for (int i = 0; i < 500; ++i) {
            if (test::http_request(node_->port(), "GET", "/snap/demo-host:stt:4101").status == 200)
                break;
            std::this_thread::sleep_for(20ms);
        }
    }
    void TearDown() override {
        if (node_) node_->stop();
    }

    std::string port_text() const { return std::to_string(node_->port()); }

    // The examples name the default address; they run against this test's server.
    std::string localised(std::string text) const {
        replace_all(text, "127.0.0.1:8091", "127.0.0.1:" + port_text());
        return text;
    }

    test::temp_dir dir_;
    std::string db_url_;
    std::unique_ptr<server::node> node_;
};

TEST_F(docs_examples, every_runnable_example_in_docs_runs_as_written) {
    auto blocks = runnable_blocks(PROM_DOCS_DIR);
    ASSERT_FALSE(blocks.empty()) << "no block is marked doctest in " << PROM_DOCS_DIR;
    std::printf("running %zu doctest blocks from %s\n", blocks.size(), PROM_DOCS_DIR);
    const std::string bin_dir = std::filesystem::path(PROM_BINARY).parent_path().string();
    const std::string env = "PATH='" + bin_dir + "':\"$PATH\" PROM_DB='" + db_url_ + "'";
    std::unique_ptr<test::raw_ws> ws;  // one connection for the ws examples, in doc order
    for (const auto& b : blocks) {
        SCOPED_TRACE(b.where());
        if (b.lang == "sh" || b.lang == "bash") {
            auto [code, output] = run_bash(localised(b.text), dir_.path(), env);
            EXPECT_EQ(code, 0) << b.where() << " failed:\n" << b.text << "\noutput:\n" << output;
            continue;
        }
        ASSERT_EQ(b.lang, "json") << b.where() << ": doctest blocks are sh or json";
        for (const auto& text : json_texts(b.text)) {
            auto v = parse_json(text);
            ASSERT_TRUE(v) << b.where() << ": not JSON: " << text << ": " << v.error().message;
            if (b.mode == "config") {
                server::serve_config c;
                auto ok = server::apply_config_json(text, c);
                EXPECT_TRUE(ok) << b.where()
                                << ": refused config: " << (ok ? "" : ok.error().message);
            } else if (b.mode == "publish") {
                auto r = test::http_request(node_->port(), "POST", "/publish",
                                            {{"Content-Type", "application/json"}}, text);
                EXPECT_EQ(r.status, 200) << b.where() << ": " << text << " → " << r.body;
            } else if (b.mode == "ws") {
                auto parsed = ws::parse_command(text);
                ASSERT_TRUE(std::holds_alternative<ws::command>(parsed))
                    << b.where() << ": " << std::get<ws::protocol_error>(parsed).message;
                if (!ws) {
                    test::raw_ws::handshake hs;
                    ws = test::raw_ws::connect(node_->port(), hs);
                    ASSERT_TRUE(ws && hs.status == 101) << hs.response;
                }
                ASSERT_TRUE(ws->send_text(text));
                // The reply to this request (event and change frames of earlier subscriptions and
                // watches skipped).
                std::optional<json::value> reply;
                while (auto frame = ws->read_text()) {
                    auto r = parse_json(*frame);
                    if (r && r->is_object() && r->at("op") != "events" &&
                        r->at("op") != "changes") {
                        reply = std::move(*r);
                        break;
                    }
                }
                ASSERT_TRUE(reply) << b.where() << ": no reply to " << text;
                EXPECT_NE(reply->at("op"), "error")
                    << b.where() << ": " << text << " → " << canonical_json(*reply);
            } else {
                EXPECT_EQ(b.mode, "") << b.where() << ": unknown doctest mode";
            }
        }
    }
    // Published examples must be examples that work: nothing of them is dead-lettered.
    for (int i = 0; i < 50; ++i) std::this_thread::sleep_for(20ms);  // let the projectors run
    auto topics = node_->storage().topics();
    ASSERT_TRUE(topics);
    for (const auto& t : *topics) {
        if (!t.topic.ends_with(".dlq")) continue;
        auto dead = node_->storage().scan({.topic = t.topic});
        ASSERT_TRUE(dead);
        for (const auto& e : *dead) {
            ADD_FAILURE() << "a docs example was dead-lettered to " << t.topic << ": "
                          << canonical_json(e.payload) << " ("
                          << (e.headers.contains("prom-error") ? e.headers.at("prom-error") : "")
                          << ")";
        }
    }
}

}  // namespace
}  // namespace prom
