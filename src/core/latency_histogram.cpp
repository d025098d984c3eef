#include "prom/latency_histogram.hpp"

#include <cstdio>

namespace prom {

namespace {

void append_u64(std::string& out, std::uint64_t v) { out += std::to_string(v); }

void append_double(std::string& out, double v) {
    char buf[32];
    int n = std::snprintf(buf, sizeof buf, "%.9g", v);
    out.append(buf, static_cast<std::size_t>(n));
}

}  // namespace

void latency_histogram::record(std::chrono::nanoseconds d) noexcept {
    double seconds = static_cast<double>(d.count()) / 1e9;
    std::size_t i = 0;
    while (i < bounds.size() && seconds > bounds[i]) ++i;
    buckets_[i].fetch_add(1, std::memory_order_relaxed);
    sum_ns_.fetch_add(static_cast<std::uint64_t>(d.count()), std::memory_order_relaxed);
    count_.fetch_add(1, std::memory_order_relaxed);
}

void latency_histogram::add(const latency_histogram& other) noexcept {
    for (std::size_t i = 0; i < buckets_.size(); ++i) {
        buckets_[i].fetch_add(other.buckets_[i].load(std::memory_order_relaxed),
                              std::memory_order_relaxed);
    }
    sum_ns_.fetch_add(other.sum_ns_.load(std::memory_order_relaxed), std::memory_order_relaxed);
    count_.fetch_add(other.count_.load(std::memory_order_relaxed), std::memory_order_relaxed);
}

void latency_histogram::render(std::string& out, std::string_view name,
                               std::string_view labels) const {
    std::uint64_t cumulative = 0;
    auto sep = labels.empty() ? "" : ",";
    for (std::size_t i = 0; i <= bounds.size(); ++i) {
        cumulative += buckets_[i].load(std::memory_order_relaxed);
        out += name;
        out += "_bucket{";
        out += labels;
        out += sep;
        out += "le=\"";
        if (i < bounds.size()) {
            append_double(out, bounds[i]);
        } else {
            out += "+Inf";
        }
        out += "\"} ";
        append_u64(out, cumulative);
        out += '\n';
    }
    const std::string braces = labels.empty() ? std::string() : "{" + std::string(labels) + "}";
    out += name;
    out += "_sum";
    out += braces;
    out += ' ';
    append_double(out, static_cast<double>(sum_ns_.load(std::memory_order_relaxed)) / 1e9);
    out += '\n';
    out += name;
    out += "_count";
    out += braces;
    out += ' ';
    append_u64(out, count_.load(std::memory_order_relaxed));
    out += '\n';
}

}  // namespace prom
