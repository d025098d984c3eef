// What each of prom's event indexes costs an append (issue 11): the bare row of
// bare_insert.hpp (batches of 1000, one transaction each, SQLite synchronous=FULL), then the
// same with one more of the things prom's append maintains, each alone on top of the bare
// row, so that each one's price shows on its own. Rounds interleave the variants; the
// median round is reported, as a ratio to the bare row of the same round.
//   index_cost_bench [seconds per variant, default 2] [rounds, default 3]
#include <algorithm>
#include <cstdio>

#include "bare_insert.hpp"

using namespace prom;
using namespace prom::bench;

int main(int argc, char** argv) {
    double secs = argc > 1 ? std::atof(argv[1]) : 2.0;
    int rounds = argc > 2 ? std::atoi(argv[2]) : 3;
    struct variant {
        const char* name;
        const char* ddl;
        bool latest;
        std::vector<double> ratios;
        std::vector<double> rates;
    };
    std::vector<variant> vs = {
        {"bare row, primary key (topic, seq) only", "", false, {}, {}},
        {"+ events_by_id (topic, id) UNIQUE: idempotent ids",
         "CREATE UNIQUE INDEX rows_by_id ON rows(topic, id)",
         false,
         {},
         {}},
        {"+ events_by_key_ts (topic, key, ts, seq): time travel, key scans",
         "CREATE INDEX rows_by_key_ts ON rows(topic, key, ts, seq)",
         false,
         {},
         {}},
        {"+ events_by_ts (topic, ts, seq): no query uses it (dropped)",
         "CREATE INDEX rows_by_ts ON rows(topic, ts, seq)",
         false,
         {},
         {}},
        {"+ latest row upserted per event (prom now: once per key and transaction)",
         "",
         true,
         {},
         {}},
        {"all of the above",
         "CREATE UNIQUE INDEX rows_by_id ON rows(topic, id);"
         "CREATE INDEX rows_by_key_ts ON rows(topic, key, ts, seq);"
         "CREATE INDEX rows_by_ts ON rows(topic, ts, seq)",
         true,
         {},
         {}},
    };
    for (int r = 0; r < rounds; ++r) {
        double bare = 0;
        for (std::size_t i = 0; i < vs.size(); ++i) {
            scratch_dir dir;
            auto m = in_child([&] {
                return bare_insert_batches((dir.path / "x.db").string(), 1000, secs, vs[i].ddl,
                                           vs[i].latest);
            });
            if (i == 0) bare = m.rate();
            vs[i].rates.push_back(m.rate());
            vs[i].ratios.push_back(bare > 0 ? m.rate() / bare : 0);
        }
    }
    std::printf(
        "| rows of 1000 per transaction, SQLite synchronous=FULL | median events/s | "
        "vs bare row, same round (median) | rounds (events/s) |\n|---|---:|---:|---|\n");
    for (auto& v : vs) {
        std::string all;
        for (double x : v.rates) all += std::to_string(static_cast<long>(x)) + " ";
        std::printf("| %s | %.0f | %.2fx | %s|\n", v.name, median(v.rates), median(v.ratios),
                    all.c_str());
    }
    return 0;
}
