// A small persistent thread pool for the addon's element-wise and row-wise kernels.
//
// The calling thread takes part in every job, so a pool of n threads owns n-1 workers. Idle workers
// sleep on a condition variable (they do not spin), which keeps them out of OpenBLAS's way: the
// addon never runs a pool job and a multi-threaded sgemm at the same time. Not a general task
// scheduler: one job at a time (addon.cc serialises calls from JavaScript threads).
#pragma once

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace pedgpt {

class Pool {
 public:
  explicit Pool(int n = 1) { resize(n); }
  ~Pool() { stopWorkers(); }
  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;

  int size() const { return nthreads_; }

  void resize(int n) {
    n = std::max(1, n);
    if (n == nthreads_) return;
    stopWorkers();
    nthreads_ = n;
    stop_ = false;
    // Each worker starts from the current generation, captured here: reading it inside the new thread
    // would race with a run() issued before the thread first takes the lock (a missed job, a hang).
    for (int t = 1; t < n; t++) workers_.emplace_back([this, t, g = generation_] { workerLoop(t, g); });
  }

  // Runs fn(tid, nthreads) once on every thread (tid 0 is the caller) and waits for all of them. Called
  // from inside a job (a kernel run per item of a parallel loop that itself splits its work), fn runs
  // alone on the calling thread: the pool is busy with the outer job, and waiting for it would deadlock.
  void run(const std::function<void(int, int)>& fn) {
    if (nthreads_ == 1 || inJob()) {
      fn(0, 1);
      return;
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      job_ = &fn;
      pending_ = nthreads_ - 1;
      generation_++;
    }
    cv_.notify_all();
    inJob() = true;
    fn(0, nthreads_);
    inJob() = false;
    std::unique_lock<std::mutex> lock(mu_);
    done_.wait(lock, [this] { return pending_ == 0; });
    job_ = nullptr;
  }

 private:
  static bool& inJob() {
    thread_local bool v = false;
    return v;
  }

  void workerLoop(int tid, uint64_t seen) {
    inJob() = true;  // a worker only ever runs jobs
    for (;;) {
      const std::function<void(int, int)>* job;
      {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [&] { return stop_ || generation_ != seen; });
        if (stop_) return;
        seen = generation_;
        job = job_;
      }
      (*job)(tid, nthreads_);
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (--pending_ == 0) done_.notify_one();
      }
    }
  }

  void stopWorkers() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    for (auto& w : workers_) w.join();
    workers_.clear();
    nthreads_ = 1;
  }

  std::vector<std::thread> workers_;
  int nthreads_ = 1;
  std::mutex mu_;
  std::condition_variable cv_, done_;
  const std::function<void(int, int)>* job_ = nullptr;
  uint64_t generation_ = 0;
  int pending_ = 0;
  bool stop_ = false;
};

Pool& pool();

// fn(begin, end) over [0, n) in contiguous chunks handed out dynamically (about 8 per thread, at least
// `grain` long), so a thread the OS preempts on a busy machine does not hold up the others; serial when
// n < 2*grain. Each element is still computed by exactly one call, so results do not depend on the
// thread count or timing (kernels whose reductions span chunks use Pool::run with fixed chunks instead).
inline void parallelFor(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn) {
  Pool& p = pool();
  if (n <= 0) return;
  if (p.size() == 1 || n < 2 * grain) {
    fn(0, n);
    return;
  }
  const int64_t chunk = std::max<int64_t>(grain, (n + 8 * p.size() - 1) / (8 * p.size()));
  std::atomic<int64_t> next{0};
  p.run([&](int, int) {
    for (int64_t b = next.fetch_add(chunk); b < n; b = next.fetch_add(chunk)) fn(b, std::min(n, b + chunk));
  });
}

// fn(item, tid) for items [0, n) handed out dynamically (work items of uneven cost).
inline void parallelItems(int64_t n, const std::function<void(int64_t, int)>& fn) {
  Pool& p = pool();
  if (n <= 0) return;
  if (p.size() == 1 || n == 1) {
    for (int64_t i = 0; i < n; i++) fn(i, 0);
    return;
  }
  std::atomic<int64_t> next{0};
  p.run([&](int tid, int) {
    for (int64_t i = next++; i < n; i = next++) fn(i, tid);
  });
}

}  // namespace pedgpt
