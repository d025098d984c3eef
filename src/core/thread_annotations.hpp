// Clang's thread-safety analysis (-Wthread-safety): which mutex guards which member, and
// which functions must be called with it held. The clang build (the `fuzz` preset) turns
// violations into errors, so the lock rules written in docs/threads.md are checked at
// compile time where they are annotated; g++ (the main compiler) sees empty macros.
//
// libstdc++'s std::mutex carries no annotations, so annotated state uses prom::mutex and
// its scoped locks below: the same std::mutex inside, nothing added at run time.
//
//   prom::mutex mu_;
//   std::vector<request> queue_ PROM_GUARDED_BY(mu_);
//   void ready(...) PROM_REQUIRES(mu_);      // callers hold mu_
//   { prom::lock_guard lock(mu_); queue_.push_back(...); }
//   { prom::unique_lock lock(mu_); while (queue_.empty()) cv_.wait(lock.native()); }
//
// A condition variable's predicate lambda is not analysed as running under the lock:
// write the wait as a loop in the function that holds it (as above).
#pragma once

#include <mutex>

#if defined(__clang__)
#define PROM_THREAD_ANNOTATION(x) __attribute__((x))
#else
#define PROM_THREAD_ANNOTATION(x)
#endif

#define PROM_CAPABILITY(name) PROM_THREAD_ANNOTATION(capability(name))
#define PROM_SCOPED_CAPABILITY PROM_THREAD_ANNOTATION(scoped_lockable)
#define PROM_GUARDED_BY(m) PROM_THREAD_ANNOTATION(guarded_by(m))
#define PROM_PT_GUARDED_BY(m) PROM_THREAD_ANNOTATION(pt_guarded_by(m))
#define PROM_REQUIRES(...) PROM_THREAD_ANNOTATION(requires_capability(__VA_ARGS__))
#define PROM_EXCLUDES(...) PROM_THREAD_ANNOTATION(locks_excluded(__VA_ARGS__))
#define PROM_ACQUIRE(...) PROM_THREAD_ANNOTATION(acquire_capability(__VA_ARGS__))
#define PROM_RELEASE(...) PROM_THREAD_ANNOTATION(release_capability(__VA_ARGS__))
#define PROM_TRY_ACQUIRE(...) PROM_THREAD_ANNOTATION(try_acquire_capability(__VA_ARGS__))
#define PROM_NO_THREAD_SAFETY_ANALYSIS PROM_THREAD_ANNOTATION(no_thread_safety_analysis)

namespace prom {

// std::mutex with the annotations the analysis needs.
class PROM_CAPABILITY("mutex") mutex {
  public:
    void lock() PROM_ACQUIRE() { m_.lock(); }
    void unlock() PROM_RELEASE() { m_.unlock(); }
    bool try_lock() PROM_TRY_ACQUIRE(true) { return m_.try_lock(); }
    // For std::condition_variable (through unique_lock::native()).
    std::mutex& native() { return m_; }

  private:
    std::mutex m_;
};

// std::lock_guard for prom::mutex.
class PROM_SCOPED_CAPABILITY lock_guard {
  public:
    explicit lock_guard(mutex& m) PROM_ACQUIRE(m) : m_(m) { m_.lock(); }
    ~lock_guard() PROM_RELEASE() { m_.unlock(); }
    lock_guard(const lock_guard&) = delete;
    lock_guard& operator=(const lock_guard&) = delete;

  private:
    mutex& m_;
};

// std::unique_lock for prom::mutex; native() is the
// std::unique_lock a std::condition_variable waits with (the wait releases and retakes it,
// which the analysis need not know: the lock is held again whenever code runs).
class PROM_SCOPED_CAPABILITY unique_lock {
  public:
    explicit unique_lock(mutex& m) PROM_ACQUIRE(m) : lock_(m.native()) {}
    ~unique_lock() PROM_RELEASE() {}
    unique_lock(const unique_lock&) = delete;
    unique_lock& operator=(const unique_lock&) = delete;
    std::unique_lock<std::mutex>& native() { return lock_; }
    // Around work that must not hold the lock.
    void unlock() PROM_RELEASE() { lock_.unlock(); }
    void lock() PROM_ACQUIRE() { lock_.lock(); }

  private:
    std::unique_lock<std::mutex> lock_;
};

}  // namespace prom
