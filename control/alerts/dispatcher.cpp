#include "alerts/dispatcher.hpp"

#include "alerts/http_post.hpp"
#include "alerts/retry_policy.hpp"
#include "io_thread.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <spdlog/spdlog.h>

#include <openssl/ssl.h>

#include <algorithm>
#include <deque>
#include <map>
#include <mutex>
#include <random>
#include <utility>
#include <vector>

namespace tg::control::alerts {

namespace asio = boost::asio;
namespace ssl = asio::ssl;

namespace {

constexpr std::chrono::milliseconds default_timeout{10'000};

// Jobs of one (notifier, fingerprint) share a queue: NUL cannot occur in a name.
std::string queue_key(const std::string& notifier, const std::string& fingerprint) {
  return notifier + '\0' + fingerprint;
}

std::string notifier_of(const std::string& key) { return key.substr(0, key.find('\0')); }

std::string trim_slash(std::string url) {
  while (!url.empty() && url.back() == '/') url.pop_back();
  return url;
}

}  // namespace

// Threads: enqueue, cancel_notifier, depth and oldest_created_unix_ms run on
// any thread and touch only the queues, under `mutex`; timers and attempts
// live on the dispatcher's I/O thread. A queue is `busy` from the moment its
// head is scheduled until it is empty: one job of a queue is ever waiting or
// in flight, which is the ordering guarantee.
struct Dispatcher::Impl {
  struct Queue {
    std::uint64_t serial = 0;  // tells a re-created queue from a cancelled one of the same key
    std::deque<DeliveryJob> jobs;
    bool busy = false;
  };
  // An attempt's or a timer's claim on a queue: stale once the queue was
  // cancelled (serial) or the dispatcher stopped (epoch).
  struct Ticket {
    std::string key;
    std::uint64_t serial = 0;
    std::uint64_t epoch = 0;
  };

  Impl(const Clock& clock, DispatcherOptions options, OnOutcome on_outcome)
      : clock(clock), options(std::move(options)), on_outcome(std::move(on_outcome)) {
    SSL_CTX_set_min_proto_version(tls.native_handle(), TLS1_2_VERSION);
    boost::system::error_code ec;
    if (this->options.ca_file.empty()) {
      tls.set_default_verify_paths(ec);
    } else {
      tls.load_verify_file(this->options.ca_file, ec);
    }
    if (ec)
      spdlog::error("tg-control: alert dispatcher: cannot load the trusted CAs ({}): {}; https notifiers will fail",
                    this->options.ca_file.empty() ? "system store" : this->options.ca_file, ec.message());
  }

  // ---- under `mutex`
  bool current(const Ticket& ticket, Queue*& queue) {
    if (ticket.epoch != epoch) return false;
    const auto it = queues.find(ticket.key);
    if (it == queues.end() || it->second.serial != ticket.serial || it->second.jobs.empty()) return false;
    queue = &it->second;
    return true;
  }

  // ---- I/O thread
  // Waits until the queue's head is due, then asks for an in-flight slot.
  void arm(const Ticket& ticket) {
    std::int64_t delay_ms = 0;
    {
      std::lock_guard lock(mutex);
      Queue* queue = nullptr;
      if (!current(ticket, queue)) return;
      delay_ms = queue->jobs.front().not_before_unix_ms - clock.unix_ms();
    }
    if (delay_ms <= 0) return due(ticket);
    auto timer = std::make_shared<asio::steady_timer>(io_thread.context(), std::chrono::milliseconds(delay_ms));
    timer->async_wait([this, ticket, timer](const boost::system::error_code& ec) {
      if (!ec) due(ticket);
    });
  }

  void due(const Ticket& ticket) {
    DeliveryJob job;
    {
      std::lock_guard lock(mutex);
      Queue* queue = nullptr;
      if (!current(ticket, queue)) return;
      if (in_flight >= std::max<std::size_t>(options.max_in_flight, 1)) {
        waiting.push_back(ticket);
        return;
      }
      ++in_flight;
      job = queue->jobs.front();
    }
    attempt(ticket, std::move(job));
  }

  void attempt(const Ticket& ticket, DeliveryJob job) {
    const std::int64_t started_unix_ms = clock.unix_ms();
    const auto started = std::chrono::steady_clock::now();
    const bool alertmanager = job.notifier.type() == v1::Notifier::TYPE_ALERTMANAGER;
    PostRequest request;
    std::string url_text = alertmanager ? trim_slash(job.notifier.url()) + "/api/v2/alerts" : job.notifier.url();
    if (std::string problem = parse_http_url(url_text, request.url); !problem.empty()) {
      PostResult result;
      result.error = "bad url \"" + url_text + "\": " + problem;
      return finished(ticket, std::move(job), started_unix_ms, started, std::move(result), true);
    }
    request.body = alertmanager ? alertmanager_body(job, options.external_url) : webhook_body(job, options.external_url);
    const std::int64_t timestamp_s = started_unix_ms / 1000;
    request.headers = {{"Content-Type", "application/json"},
                       {"User-Agent", "tenantgate"},
                       {"webhook-id", job.id},
                       {"webhook-timestamp", std::to_string(timestamp_s)}};
    if (!alertmanager && !job.secret.empty())
      request.headers.emplace_back("webhook-signature", webhook_signature(job.secret, job.id, timestamp_s, request.body));
    request.timeout = job.notifier.timeout_ms() != 0 ? std::chrono::milliseconds(job.notifier.timeout_ms()) : default_timeout;
    http_post(io_thread.context(), tls, std::move(request),
              [this, ticket, job = std::move(job), started_unix_ms, started](PostResult result) mutable {
                finished(ticket, std::move(job), started_unix_ms, started, std::move(result), false);
              });
  }

  // An attempt ended (`unsendable`: it could not even start, a final failure).
  void finished(const Ticket& ticket, DeliveryJob job, std::int64_t started_unix_ms,
                std::chrono::steady_clock::time_point started, PostResult result, bool unsendable) {
    AttemptOutcome outcome;
    outcome.id = job.id;
    outcome.notifier = job.notifier.name();
    outcome.fingerprint = job.alert.fingerprint();
    auto& attempt = outcome.attempt;
    attempt.set_unix_ms(started_unix_ms);
    attempt.set_http_status(result.status);
    attempt.set_duration_ms(static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started).count()));
    std::string error = result.error;
    if (error.empty() && classify(result.status) != AnswerClass::delivered) {
      error = "http " + std::to_string(result.status);
      if (!result.body_excerpt.empty()) error += ": " + result.body_excerpt;
    }
    const std::int64_t now = clock.unix_ms();
    const std::uint32_t attempts_done = job.attempts_done + 1;
    RetryDecision decision;
    if (unsendable) {
      decision.status = v1::Delivery::STATUS_FAILED;
    } else {
      decision = decide(result.status, attempts_done, job.created_unix_ms, now, options, uniform(rng),
                        parse_retry_after(result.retry_after));
      if (decision.status == v1::Delivery::STATUS_FAILED && classify(result.status) == AnswerClass::retry)
        error += " (" + decision.reason + ")";
    }
    attempt.set_error(error);
    outcome.status = decision.status;
    outcome.next_attempt_unix_ms = decision.next_attempt_unix_ms;
    if (decision.status == v1::Delivery::STATUS_FAILED)
      spdlog::warn("tg-control: alert delivery {} to notifier {} failed for good: {}", job.id, job.notifier.name(), error);

    std::vector<Ticket> start_now;
    bool report = false;
    {
      std::lock_guard lock(mutex);
      if (ticket.epoch != epoch) return;  // stopped: abandoned
      --in_flight;
      Queue* queue = nullptr;
      if (current(ticket, queue) && queue->jobs.front().id == job.id) {
        report = true;
        if (decision.status == v1::Delivery::STATUS_PENDING) {
          queue->jobs.front().attempts_done = attempts_done;
          queue->jobs.front().not_before_unix_ms = decision.next_attempt_unix_ms;
        } else {
          queue->jobs.pop_front();
        }
        if (queue->jobs.empty()) {
          queues.erase(ticket.key);
        } else {
          start_now.push_back(ticket);  // arm() below: after the outcome is reported
        }
      }
      // The freed slot goes to the longest waiting queue.
      while (!waiting.empty()) {
        Ticket next = std::move(waiting.front());
        waiting.pop_front();
        Queue* next_queue = nullptr;
        if (current(next, next_queue)) {
          start_now.insert(start_now.begin(), std::move(next));
          break;
        }
      }
    }
    if (report && on_outcome) on_outcome(std::move(outcome));
    for (const Ticket& next : start_now)
      asio::post(io_thread.context(), [this, next] { arm(next); });
  }

  const Clock& clock;
  DispatcherOptions options;
  OnOutcome on_outcome;

  mutable std::mutex mutex;
  std::map<std::string, Queue> queues;  // key: queue_key()
  std::deque<Ticket> waiting;           // heads due, waiting for an in-flight slot
  std::size_t in_flight = 0;
  std::uint64_t next_serial = 1;
  std::uint64_t epoch = 1;
  bool running = false;

  std::mt19937_64 rng{std::random_device{}()};  // I/O thread only
  std::uniform_real_distribution<double> uniform{0.0, 1.0};

  // Declared before the thread: attempts still queued at stop() are destroyed
  // with the context, and their streams use it.
  ssl::context tls{ssl::context::tls_client};
  IoThread io_thread{"alert dispatcher"};
};

Dispatcher::Dispatcher(const Clock& clock, DispatcherOptions options, OnOutcome on_outcome)
    : impl_(std::make_unique<Impl>(clock, std::move(options), std::move(on_outcome))) {}

Dispatcher::~Dispatcher() { stop(); }

void Dispatcher::start() {
  std::vector<Impl::Ticket> busy;
  {
    std::lock_guard lock(impl_->mutex);
    if (impl_->running) return;
    impl_->running = true;
    // Queues filled before start (or kept over a stop) begin now.
    for (auto& [key, queue] : impl_->queues) {
      queue.busy = true;
      busy.push_back({key, queue.serial, impl_->epoch});
    }
  }
  impl_->io_thread.start();
  for (const auto& ticket : busy)
    asio::post(impl_->io_thread.context(), [impl = impl_.get(), ticket] { impl->arm(ticket); });
}

void Dispatcher::stop() {
  {
    std::lock_guard lock(impl_->mutex);
    if (!impl_->running) return;
    impl_->running = false;
    // Timers and attempts under way are abandoned: the jobs stay queued (and
    // pending in the store), and a new epoch makes whatever is left of them stale.
    ++impl_->epoch;
    impl_->in_flight = 0;
    impl_->waiting.clear();
    for (auto& [key, queue] : impl_->queues) queue.busy = false;
  }
  impl_->io_thread.stop();
}

void Dispatcher::enqueue(DeliveryJob job) {
  std::lock_guard lock(impl_->mutex);
  const std::string key = queue_key(job.notifier.name(), job.alert.fingerprint());
  auto& queue = impl_->queues[key];
  if (queue.serial == 0) queue.serial = impl_->next_serial++;
  queue.jobs.push_back(std::move(job));
  if (queue.busy || !impl_->running) return;
  queue.busy = true;
  asio::post(impl_->io_thread.context(),
             [impl = impl_.get(), ticket = Impl::Ticket{key, queue.serial, impl_->epoch}] { impl->arm(ticket); });
}

void Dispatcher::cancel_notifier(const std::string& notifier) {
  std::lock_guard lock(impl_->mutex);
  std::erase_if(impl_->queues, [&](const auto& entry) { return notifier_of(entry.first) == notifier; });
}

std::size_t Dispatcher::depth() const {
  std::lock_guard lock(impl_->mutex);
  std::size_t depth = 0;
  for (const auto& [key, queue] : impl_->queues) depth += queue.jobs.size();
  return depth;
}

std::int64_t Dispatcher::oldest_created_unix_ms() const {
  std::lock_guard lock(impl_->mutex);
  std::int64_t oldest = 0;
  for (const auto& [key, queue] : impl_->queues)
    for (const auto& job : queue.jobs)
      if (oldest == 0 || job.created_unix_ms < oldest) oldest = job.created_unix_ms;
  return oldest;
}

}  // namespace tg::control::alerts
