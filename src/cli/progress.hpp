// The progress of a long CLI command (prom replay, prom compact): a bar on stderr when it is
// a terminal, one JSON line a second on stdout with --progress=json, or nothing.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "prom/error.hpp"
#include "prom/json.hpp"

namespace prom::cli {

// "auto" (a bar on a terminal, else none), "bar", "json", "none"; invalid_argument otherwise.
result<std::string> progress_mode(const std::string& option);

// "[#####.....] 120/400 events  3k ev/s  ETA 2s" on stderr, redrawn in place; a newline
// after it when `final`. `unit`: what done and total count.
void draw_progress_bar(std::int64_t done, std::int64_t total, double rate,
                       std::optional<double> eta, bool final, const char* unit = "events");

// Throttles the updates of one run: a bar at most every 100 ms, a JSON line every second.
class progress_printer {
  public:
    explicit progress_printer(std::string mode) : mode_(std::move(mode)) {}
    // `line` is what --progress=json prints.
    void update(std::int64_t done, std::int64_t total, const json::object& line);
    void finish(std::int64_t done, std::int64_t total);  // the last bar, and its newline
    void abandon();                                      // a failure: end the bar's line

  private:
    double rate(std::int64_t done) const;
    std::string mode_;
    std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
    std::chrono::steady_clock::time_point last_ = started_ - std::chrono::seconds(1);
    bool drawn_ = false;
};

}  // namespace prom::cli
