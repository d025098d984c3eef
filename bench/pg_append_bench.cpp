// Durable append throughput on PostgreSQL (synchronous_commit on): prom's group commit
// against plain single-row INSERTs, one per transaction, from the same number of clients
// (each client its own connection, as a service pool would have). Ratios are per client
// count, measured in the same run.
//   pg_append_bench URL [seconds per scenario, default 3]     (URL: postgresql://…)
// Each scenario writes into its own schema, dropped at the end.
#include <libpq-fe.h>

#include <atomic>
#include <cstdio>
#include <thread>
#include <vector>

#include "append_scenarios.hpp"
#include "bench_util.hpp"
#include "prom/store.hpp"

using namespace prom;
using namespace prom::bench;

namespace {

std::string with_schema(const std::string& url, const std::string& schema) {
    return url + (url.find('?') == std::string::npos ? "?" : "&") + "schema=" + schema;
}

bool exec(PGconn* c, const std::string& sql) {
    PGresult* r = PQexec(c, sql.c_str());
    bool ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;
    if (!ok) std::fprintf(stderr, "%s: %s", sql.c_str(), PQerrorMessage(c));
    PQclear(r);
    return ok;
}

// The baseline: what a service does without prom, one INSERT (its own transaction) per
// event into an indexed table, from `clients` connections.
measured plain_inserts(const std::string& url, const std::string& schema, int clients,
                       double secs) {
    PGconn* setup = PQconnectdb(url.c_str());
    if (PQstatus(setup) != CONNECTION_OK ||
        !exec(setup, "CREATE SCHEMA " + schema + "; CREATE TABLE " + schema +
                         ".events(id text PRIMARY KEY, topic text NOT NULL, key text NOT NULL, "
                         "ts bigint NOT NULL, payload jsonb NOT NULL)")) {
        return {0, -1, 0};
    }
    PQfinish(setup);
    std::atomic<bool> stop{false};
    std::atomic<long> done{0};
    std::vector<std::thread> ts;
    auto t0 = std::chrono::steady_clock::now();
    for (int t = 0; t < clients; ++t) {
        ts.emplace_back([&, t] {
            PGconn* c = PQconnectdb(url.c_str());
            const std::string sql = "INSERT INTO " + schema +
                                    ".events(id, topic, key, ts, payload) "
                                    "VALUES($1, $2, $3, $4, $5)";
            if (PQstatus(c) != CONNECTION_OK) return;
            PQclear(PQprepare(c, "ins", sql.c_str(), 0, nullptr));
            for (long i = 0; !stop; ++i) {
                auto e = one_event(i);
                std::string id = new_event_id(), ts_text = to_string(now_ms()),
                            payload = canonical_json(e.payload);
                const char* v[] = {id.c_str(), e.topic.c_str(), e.key.c_str(), ts_text.c_str(),
                                   payload.c_str()};
                PGresult* r = PQexecPrepared(c, "ins", 5, v, nullptr, nullptr, 0);
                if (PQresultStatus(r) == PGRES_COMMAND_OK) ++done;
                PQclear(r);
            }
            PQfinish(c);
        });
    }
    std::this_thread::sleep_for(std::chrono::duration<double>(secs));
    stop = true;
    for (auto& t : ts) t.join();
    return {static_cast<double>(done.load()), seconds_since(t0), 0};
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: pg_append_bench postgresql://… [seconds]\n");
        return 2;
    }
    const std::string url = argv[1];
    const double secs = argc > 2 ? std::atof(argv[2]) : 3.0;
    const std::string prefix = "bench_" + std::to_string(::getpid()) + "_";
    std::vector<std::string> schemas;
    auto schema = [&](const std::string& name) {
        schemas.push_back(prefix + name);
        return schemas.back();
    };

    std::printf(
        "| clients | PostgreSQL single-row INSERTs/s | prom append events/s | ratio | "
        "peak RSS MiB (pg / prom) |\n|---:|---:|---:|---:|---:|\n");
    for (int n : {1, 8, 64}) {
        auto base_schema = schema("plain" + std::to_string(n));
        auto prom_schema = schema("prom" + std::to_string(n));
        auto base = in_child([&] { return plain_inserts(url, base_schema, n, secs); });
        auto mine =
            in_child([&] { return concurrent_appenders(with_schema(url, prom_schema), n, secs); });
        std::printf("| %d | %.0f | %.0f | %.1fx | %.1f / %.1f |\n", n, base.rate(), mine.rate(),
                    base.rate() > 0 ? mine.rate() / base.rate() : 0.0, base.peak_rss_kb / 1024.0,
                    mine.peak_rss_kb / 1024.0);
        std::fflush(stdout);
    }
    auto batch_schema = schema("batch");
    auto batches = in_child([&] { return batches_of(with_schema(url, batch_schema), 1000, secs); });
    std::printf("\nprom, batches of 1000 from one client: %.0f events/s (peak RSS %.1f MiB)\n",
                batches.rate(), batches.peak_rss_kb / 1024.0);

    PGconn* c = PQconnectdb(url.c_str());
    for (auto& s : schemas) exec(c, "DROP SCHEMA IF EXISTS " + s + " CASCADE");
    PQfinish(c);
    return 0;
}
