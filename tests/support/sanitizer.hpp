// Which sanitizer this build has, decided at compile time: the test binaries and the
// processes they start (prom_crash_child) are built with the same flags (the asan and tsan
// presets, docs/testing.md), so each of them knows without being told.
//
// Tests whose workload is sized for release speed (the kill -9 crash test) scale it by
// `slowdown`, never their assertions.
#pragma once

namespace prom::test::sanitizer {

#if defined(__SANITIZE_THREAD__)  // g++
inline constexpr bool thread = true;
#elif defined(__has_feature)  // clang
#if __has_feature(thread_sanitizer)
inline constexpr bool thread = true;
#else
inline constexpr bool thread = false;
#endif
#else
inline constexpr bool thread = false;
#endif

#if defined(__SANITIZE_ADDRESS__)  // g++ and clang
inline constexpr bool address = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
inline constexpr bool address = true;
#else
inline constexpr bool address = false;
#endif
#else
inline constexpr bool address = false;
#endif

// How many times slower than release this build runs prom's own code, roughly: 5-15x seen
// under ThreadSanitizer (docs/testing.md, Record); 3 for ASan+UBSan at -O1 is an estimate
// not measured here yet. 1 in release.
inline constexpr int slowdown = thread ? 10 : address ? 3 : 1;

}  // namespace prom::test::sanitizer
