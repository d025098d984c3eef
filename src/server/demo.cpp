#include "server/demo.hpp"

#include <spdlog/spdlog.h>

#include <array>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "core/thread_name.hpp"
#include "prom/process_projectors.hpp"

namespace prom::server {

namespace {

struct demo_process {
    const char* name;
    int pid;
    double cpu;
    double mem;
    int beats;  // heartbeats before it goes silent; 0: never
};

constexpr std::array<demo_process, 3> processes{{
    {"stt", 4101, 12.5, 310, 0},
    {"tts", 4102, 7.0, 280, 0},
    {"llm", 4103, 85.0, 6100, 5},  // goes silent after 5 s, then turns stale
}};

class demo_impl final : public demo_publisher {
  public:
    explicit demo_impl(store& s) : store_(s), thread_([this] { run(); }) {}
    ~demo_impl() override { stop(); }

    void stop() override {
        {
            std::lock_guard lock(mu_);
            if (stopping_) return;
            stopping_ = true;
        }
        cv_.notify_all();
        if (thread_.joinable()) thread_.join();
    }

  private:
    void run() {
        name_this_thread("prom-demo");
        for (int tick = 0;; ++tick) {
            std::vector<event_input> batch;
            for (const auto& p : processes) {
                if (p.beats != 0 && tick >= p.beats) continue;
                json::object hb;
                hb["pid"] = p.pid;
                hb["name"] = p.name;
                hb["host"] = "demo-host";
                // A little movement so that ETags change from beat to beat.
                hb["cpu_pct"] = p.cpu + (tick % 5);
                hb["mem_mb"] = p.mem + (tick % 3);
                event_input in;
                in.topic = std::string(heartbeat_topic);
                in.key = std::string("demo-host:") + p.name + ":" + std::to_string(p.pid);
                in.payload = std::move(hb);
                batch.push_back(std::move(in));
            }
            if (!batch.empty()) {
                if (auto r = store_.append(std::move(batch)); !r) {
                    spdlog::error("demo: publish failed: {}", r.error().message);
                }
            }
            std::unique_lock lock(mu_);
            if (cv_.wait_for(lock, std::chrono::seconds(1), [this] { return stopping_; })) return;
        }
    }

    store& store_;
    std::mutex mu_;
    std::condition_variable cv_;
    bool stopping_ = false;
    std::thread thread_;  // last: starts after the members it uses
};

}  // namespace

std::unique_ptr<demo_publisher> start_demo(store& s) { return std::make_unique<demo_impl>(s); }

std::string demo_instructions(const std::string& base, std::chrono::milliseconds stale_after,
                              const std::string& prom, const std::string& db_url) {
    const std::string db = " --db '" + describe_db_url(db_url) + "'";
    std::string s;
    s += "prom serve --demo: 3 processes on demo-host send a heartbeat every second;\n";
    s += "'llm' goes silent after 5 s and turns stale " +
         std::to_string(stale_after.count() / 1000) + " s later.\n\nThe dashboard: " + base +
         "/ui/\n\nTry:\n";
    s += "  curl -i " + base + "/snap/demo-host:stt:4101\n";
    s += "  curl -i " + base + "/list\n";
    s += "  curl -s '" + base + "/list?status=stale'\n";
    s += "  curl -s " + base + "/collections/host_stats/snap/demo-host\n";
    s += "  etag=$(curl -sI " + base +
         "/snap/demo-host:llm:4103 | tr -d '\\r' | sed -n 's/^ETag: //Ip')\n";
    s += "  curl -i -H \"If-None-Match: $etag\" " + base +
         "/snap/demo-host:llm:4103   # 304 once stale\n";
    s += "  curl -s -X POST -H 'Content-Type: application/json' " + base +
         "/publish -d '{\"topic\":\"heartbeat.received\",\"payload\":{\"pid\":1,\"name\":\"me\","
         "\"host\":\"laptop\",\"cpu_pct\":1,\"mem_mb\":2}}'\n";
    s += "  curl -s -X POST -H 'Content-Type: application/json' '" + base +
         "/publish?wait_for=processes' -d '{\"topic\":\"process.state\",\"key\":\"me\","
         "\"payload\":{\"processId\":\"me\",\"host\":\"laptop\",\"status\":\"alive\"}}'"
         "   # answered once /snap/me has it\n";
    s += "  curl -sN '" + base +
         "/collections/processes/watch?prefix=demo-host:'"
         "   # live changes (SSE); -H 'Last-Event-ID: N' resumes after N\n";
    s += "  curl -s " + base + "/metrics | grep prom_\n";
    s += "  curl -s " + base + "/healthz\n";
    std::string ws = "ws" + base.substr(4) + "/ws";  // http://… → ws://…
    s += "  " + prom + " tail process.state --url " + ws + " --from earliest   # live\n";
    s += "  curl -s \"" + base +
         "/at/process.state/demo-host:llm:4103?t=$(($(date +%s)*1000 - 8000))\""
         "   # 8 s ago\n";
    // The CLI's own commands open the database themselves: an in-memory one is this
    // process's alone, so they would show a new, empty one.
    if (db_url.starts_with("memory:")) {
        s += "(the CLI's process-at and topics would open their own empty database: the data\n"
             "is in this process's memory, so ask over HTTP as above)\n";
        return s;
    }
    s += "  " + prom +
         " process-at demo-host:llm:4103 \"$(date -u -d '-8 sec' "
         "+%Y-%m-%dT%H:%M:%SZ)\"" +
         db + "   # same, from the CLI\n";
    s += "  " + prom + " topics" + db + "\n";
    return s;
}

}  // namespace prom::server
