#include "cli/progress.hpp"

#include <unistd.h>

#include <cmath>
#include <cstdio>

#include "cli/commands.hpp"

namespace prom::cli {

namespace {

std::string human(double v) {
    char buf[32];
    if (v >= 1e6) {
        std::snprintf(buf, sizeof buf, "%.1fM", v / 1e6);
    } else if (v >= 1e4) {
        std::snprintf(buf, sizeof buf, "%.0fk", v / 1e3);
    } else {
        std::snprintf(buf, sizeof buf, "%.0f", v);
    }
    return buf;
}

}  // namespace

result<std::string> progress_mode(const std::string& option) {
    if (option == "auto") return std::string(isatty(STDERR_FILENO) ? "bar" : "none");
    if (option == "bar" || option == "json" || option == "none") return option;
    return fail(errc::invalid_argument, "--progress is auto, bar, json or none");
}

void draw_progress_bar(std::int64_t done, std::int64_t total, double rate,
                       std::optional<double> eta, bool final, const char* unit) {
    constexpr int width = 30;
    double frac = total > 0 ? static_cast<double>(done) / static_cast<double>(total) : 1.0;
    int filled = std::min(width, static_cast<int>(frac * width));
    std::string bar(static_cast<std::size_t>(filled), '#');
    bar.append(static_cast<std::size_t>(width - filled), '.');
    std::fprintf(stderr, "\r[%s] %lld/%lld %s  %s ev/s  ETA %s   ", bar.c_str(),
                 static_cast<long long>(done), static_cast<long long>(total), unit,
                 human(rate).c_str(),
                 eta ? (std::to_string(std::llround(*eta)) + "s").c_str() : "?");
    if (final) std::fputc('\n', stderr);
    std::fflush(stderr);
}

double progress_printer::rate(std::int64_t done) const {
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
    return s > 0 ? static_cast<double>(done) / s : 0;
}

void progress_printer::update(std::int64_t done, std::int64_t total, const json::object& line) {
    auto now = std::chrono::steady_clock::now();
    if (now - last_ < std::chrono::milliseconds(mode_ == "bar" ? 100 : 1000)) return;
    last_ = now;
    if (mode_ == "bar") {
        double r = rate(done);
        std::optional<double> eta;
        if (done > 0 && r > 0) eta = static_cast<double>(total - done) / r;
        draw_progress_bar(done, total, r, eta, false);
        drawn_ = true;
    } else if (mode_ == "json") {
        print_line(line);
        std::fflush(stdout);
    }
}

void progress_printer::finish(std::int64_t done, std::int64_t total) {
    if (mode_ != "bar") return;
    draw_progress_bar(done, total, rate(done), 0.0, true);
    drawn_ = false;
}

void progress_printer::abandon() {
    if (drawn_) std::fputc('\n', stderr);
    drawn_ = false;
}

}  // namespace prom::cli
