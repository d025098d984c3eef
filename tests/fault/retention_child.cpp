// The process the retention crash test kills (retention_crash_test.cpp): runs the list of
// retention_crash_plan.hpp (passes and erasures) on DB_URL, on the topics of ROUND, from the
// start, and exits 0 when it is done.
//   prom_retention_child DB_URL ROUND
#include <cstdio>
#include <cstdlib>
#include <thread>

#include "fault/retention_crash_plan.hpp"

using namespace std::chrono_literals;
namespace plan = prom::test::retention_crash;

namespace {

// A killed run's lease may still be held until the test clears it: retry a while.
template <class F>
auto retrying(F&& f) {
    for (int i = 0;; ++i) {
        auto r = f();
        if (r || r.error().code != prom::errc::conflict || i == 300) return r;
        std::this_thread::sleep_for(100ms);
    }
}

bool pass(prom::store& s, const std::string& topic, const prom::retention::policy& p) {
    auto r = retrying([&] {
        return prom::retention::run_pass(s, topic, p,
                                         {.now = prom::ts_ms{plan::now},
                                          .batch_events = plan::batch_events,
                                          .owner = plan::owner});
    });
    if (!r) std::fprintf(stderr, "pass on %s: %s\n", topic.c_str(), r.error().message.c_str());
    return r.has_value();
}

bool erase(prom::store& s, const std::string& topic, const std::string& key) {
    auto r = retrying([&] { return prom::retention::erase(s, topic, key); });
    if (!r && r.error().code != prom::errc::not_found) {  // not_found: a run before erased it
        std::fprintf(stderr, "erase %s: %s\n", key.c_str(), r.error().message.c_str());
        return false;
    }
    return true;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 3) return 2;
    const int round = std::atoi(argv[2]);
    auto s = prom::open_store(argv[1]);
    if (!s) {
        std::fprintf(stderr, "open: %s\n", s.error().message.c_str());
        return 1;
    }
    auto& st = **s;
    const auto keys = plan::erased_keys();
    const auto compacted = plan::compacted_topic(round), retained = plan::retained_topic(round),
               erased = plan::erased_topic(round);
    bool ok = pass(st, compacted, plan::compact_at(round, plan::first_cutoff));
    for (std::size_t i = 0; ok && i < keys.size() / 2; ++i) ok = erase(st, erased, keys[i]);
    ok = ok && pass(st, retained, plan::retain_by_age(round));
    ok = ok && pass(st, compacted, plan::compact_at(round, plan::second_cutoff));
    for (std::size_t i = keys.size() / 2; ok && i < keys.size(); ++i) {
        ok = erase(st, erased, keys[i]);
    }
    ok = ok && pass(st, retained, plan::retain_by_count(round));
    return ok ? 0 : 1;
}
