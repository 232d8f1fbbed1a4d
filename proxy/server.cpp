#include "server.hpp"

#include "admin/metrics_text.hpp"
#include "auth/key_files.hpp"
#include "config/loader.hpp"
#include "connection/downstream.hpp"
#include "files/ready_file.hpp"
#include "net/bind_error.hpp"
#include "netio/endpoint.hpp"
#include "netio/http_server.hpp"
#include "pipeline/limit_gate.hpp"
#include "pipeline/auth_gate.hpp"
#include "runtime/listen_lock.hpp"
#include "runtime/worker.hpp"
#include "table/snapshot.hpp"
#include "table/table_feed.hpp"
#include "telemetry/telemetry_sink.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/system/system_error.hpp>
#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <csignal>
#include <cstdio>
#include <functional>
#include <iostream>
#include <unordered_map>

namespace tg::proxy {

std::shared_ptr<const Snapshot> load_snapshot(const std::string& path, std::uint64_t version, std::string& error,
                                              std::vector<std::string>* warnings, const Snapshot* previous) {
  if (path.empty()) {
    config::Config empty;
    return Snapshot::build(empty, version, "", error, {}, previous);
  }
  config::LoadResult loaded = config::load_file(path, config::Reader::proxy);
  if (!loaded.ok()) {
    error = loaded.error_text();
    return nullptr;
  }
  if (warnings)
    for (const auto& warning : loaded.warnings) warnings->push_back(warning.to_string());
  // No tg-control to read them: the JWT key files are read here.
  if (!auth::read_key_files(*loaded.config, path, error)) return nullptr;
  return Snapshot::build(*loaded.config, version, path, error, {}, previous);
}

namespace {

using net::endpoint_text;

class Server {
 public:
  explicit Server(const ServerOptions& options) : options_(options), signals_(io_) {}

  int run() {
    if (!load_first_table()) return 1;
    if (!options_.access_log.empty()) access_log_ = std::make_unique<AccessLogWriter>(options_.access_log);

    const unsigned count = std::max(1u, options_.settings.workers);
    tcp::endpoint listen = options_.listen;
    const std::string listen_text = options_.listen_text.empty() ? endpoint_text(listen) : options_.listen_text;
    // The lock comes before the bind (the workers' SO_REUSEPORT would let a
    // second tg-proxy share the port). Port 0 is locked once the kernel has
    // picked the port, so a later proxy told that port is refused as well.
    if (listen.port() != 0 && !take_listen_lock(listen, listen_text)) return 1;
    for (unsigned i = 0; i < count; ++i) {
      workers_.push_back(std::make_unique<Worker>(i, options_.settings, access_log_.get(), &Downstream::accept));
      try {
        workers_.back()->listen(listen);
      } catch (const boost::system::system_error& e) {
        return bind_failed("--listen", listen_text, e);
      }
      // Port 0: the first worker picks the port, the others join it.
      if (i == 0) listen = workers_.back()->local_endpoint();
      auth_gates_.push_back(std::make_unique<AuthGate>(
          [this](const std::string& tenant, const std::string& kid) { request_key(tenant, kid); },
          AuthGate::Sizes{options_.auth_cached_tokens, options_.auth_failing_addresses}));
      workers_.back()->add_admission_gate(auth_gates_.back().get(), &AuthGate::serves);
      // Then rate and concurrency limits, so a request that fails
      // authentication spends no token and the tenant is verified first.
      limit_gates_.push_back(std::make_unique<LimitGate>(count, options_.rate_limit_keys));
      workers_.back()->add_admission_gate(limit_gates_.back().get(), &LimitGate::serves);
    }
    if (options_.listen.port() == 0 && !take_listen_lock(listen, endpoint_text(listen))) return 1;
    try {
      admin_.emplace(io_, options_.admin, admin_options());
      register_admin_handlers();
    } catch (const boost::system::system_error& e) {
      return bind_failed("--admin", options_.admin_text.empty() ? endpoint_text(options_.admin) : options_.admin_text,
                         e);
    }
    const tcp::endpoint admin_endpoint = admin_->local_endpoint();

    signals_.add(SIGHUP);
    signals_.add(SIGTERM);
    signals_.add(SIGINT);
    wait_signal();

    for (auto& w : workers_) w->start(snapshot_);
    if (options_.feed) {
      options_.feed->start(snapshot_, endpoint_text(listen),
                           [this](std::shared_ptr<const Snapshot> next, std::function<void()> switched) {
                             install_pushed(std::move(next), std::move(switched));
                           });
    }
    if (options_.telemetry)
      options_.telemetry->start([this](std::chrono::milliseconds timeout) { return collect_telemetry(timeout); });
    if (!options_.ready_file.empty())
      write_ready_file(options_.ready_file,
                       "listen=" + endpoint_text(listen) + "\nadmin=" + endpoint_text(admin_endpoint) + "\n");
    spdlog::info("tg-proxy serving on {} with {} worker(s), admin on {}, table version {} ({} routes)",
                 endpoint_text(listen), count, endpoint_text(admin_endpoint), version_, snapshot_->routes.size());
    io_.run();
    if (options_.telemetry) {
      options_.telemetry->stop();
      options_.telemetry->join();
    }
    if (options_.feed) {
      options_.feed->stop();
      options_.feed->join();
    }
    for (auto& w : workers_) w->join();
    if (access_log_) access_log_->flush();
    spdlog::info("tg-proxy stopped");
    return 0;
  }

 private:
  bool take_listen_lock(const tcp::endpoint& listen, const std::string& listen_text) {
    std::string error;
    listen_lock_ = ListenLock::acquire(options_.lock_dir, listen, listen_text, error);
    if (!listen_lock_.held()) std::cerr << "tg-proxy: " << error << "\n";
    return listen_lock_.held();
  }

  static int bind_failed(const char* flag, const std::string& address, const boost::system::system_error& e) {
    std::cerr << "tg-proxy: " << net::bind_error_text(flag, address, e.code().value()) << "\n";
    return 1;
  }

  // The table served at start: with a feed, its saved table wins over
  // --config; else --config, or an empty table (404 no_route) without one.
  bool load_first_table() {
    const std::string& path = options_.config_path;
    if (options_.feed) {
      snapshot_ = options_.feed->saved_table(version_);
      if (snapshot_) {
        spdlog::info("serving the table saved in --state-dir (control version {}.{}, {} routes){} until {} pushes "
                     "a newer one",
                     snapshot_->control.generation, snapshot_->control.counter, snapshot_->routes.size(),
                     path.empty() ? "" : ", not --config " + path, options_.feed->name());
        return true;
      }
    }
    std::string error;
    std::vector<std::string> warnings;
    snapshot_ = load_snapshot(path, version_, error, &warnings);
    for (const auto& warning : warnings) spdlog::warn("{}", warning);
    if (!snapshot_) {
      spdlog::error("cannot load the table:\n{}", error);
      return false;
    }
    if (options_.feed && path.empty())
      spdlog::warn("no saved table and no --config: every request gets 404 no_route until {} pushes a table",
                   options_.feed->name());
    else if (options_.feed)
      spdlog::info("serving --config {} until {} pushes a table", path, options_.feed->name());
    else if (path.empty())
      spdlog::warn("no --config given: every request gets 404 no_route");
    return true;
  }

  // Any thread (the feed's): the main thread switches to `next`; the last
  // worker to switch calls `switched`.
  void install_pushed(std::shared_ptr<const Snapshot> next, std::function<void()> switched) {
    boost::asio::post(io_, [this, next = std::move(next), switched = std::move(switched)]() mutable {
      if (stopping_) return;
      version_ = next->version;
      switch_workers(std::move(next), std::move(switched));
    });
  }

  // A worker saw a token naming a kid its tenant's keys lack: with a feed,
  // it may fetch them again; standalone, the key file is the operator's.
  // Worker thread: posted, so the worker takes no lock.
  void request_key(const std::string& tenant, const std::string& kid) {
    boost::asio::post(io_, [this, tenant, kid] {
      if (options_.feed) {
        options_.feed->request_key(tenant, kid);
        return;
      }
      const auto now = std::chrono::steady_clock::now();
      auto [it, fresh] = unknown_kid_logged_.try_emplace(tenant, now);
      if (!fresh && now - it->second < std::chrono::seconds(30)) return;
      it->second = now;
      spdlog::warn("tenant {}: a token names key id {}, which its jwks_file lacks (refused 401 unknown_kid)", tenant,
                   kid);
    });
  }

  // Main thread: `next` becomes the served table and every worker installs it
  // (keeping in-flight requests, keep-alive and upgraded connections); the
  // last one calls `switched` when given. SIGHUP reloads and pushed tables.
  void switch_workers(std::shared_ptr<const Snapshot> next, std::function<void()> switched = {}) {
    snapshot_ = next;
    auto remaining = std::make_shared<std::atomic<std::size_t>>(workers_.size());
    for (auto& w : workers_) {
      Worker* worker = w.get();
      worker->post([worker, next, remaining, switched] {
        worker->install(next);
        if (remaining->fetch_sub(1, std::memory_order_acq_rel) == 1 && switched) switched();
      });
    }
  }

  void wait_signal() {
    signals_.async_wait([this](const boost::system::error_code& ec, int signal) {
      if (ec) return;
      if (signal == SIGHUP) {
        reload();
      } else if (draining_) {
        spdlog::warn("second stop signal: exiting now");
        stop_workers();
        return;
      } else {
        drain();
      }
      wait_signal();
    });
  }

  void reload() {
    if (options_.feed) {
      spdlog::warn("SIGHUP: ignored, the table pushed by {} wins over --config", options_.feed->name());
      return;
    }
    if (options_.config_path.empty()) {
      spdlog::warn("SIGHUP: no --config to reload");
      return;
    }
    std::string error;
    std::vector<std::string> warnings;
    auto next = load_snapshot(options_.config_path, version_ + 1, error, &warnings, snapshot_.get());
    for (const auto& warning : warnings) spdlog::warn("SIGHUP: {}", warning);
    if (!next) {
      ++reloads_failed_;
      spdlog::error("reload rejected, still serving version {}:\n{}", version_, error);
      return;
    }
    ++version_;
    ++reloads_ok_;
    switch_workers(next);
    spdlog::info("reloaded {}: table version {} ({} routes, {} services)", options_.config_path, version_,
                 next->routes.size(), next->services.size());
  }

  void drain() {
    draining_ = true;
    if (options_.feed) options_.feed->stop();
    spdlog::info("draining: no new connections, finishing requests in flight (up to {} ms)",
                 options_.settings.drain_timeout.count());
    drain_timer_.emplace(io_, options_.settings.drain_timeout);
    drain_timer_->async_wait([this](const boost::system::error_code& ec) {
      if (ec) return;
      spdlog::warn("drain deadline reached with connections still open: closing them");
      stop_workers();
    });
    for (auto& w : workers_) {
      Worker* worker = w.get();
      worker->post([this, worker] {
        worker->begin_drain([this] {
          boost::asio::post(io_, [this] {
            if (++drained_ == workers_.size()) stop_workers();
          });
        });
      });
    }
  }

  void stop_workers() {
    if (stopping_) return;
    stopping_ = true;
    if (options_.feed) options_.feed->stop();
    if (drain_timer_) drain_timer_->cancel();
    // The last interval of telemetry, with every request of the drain
    // counted, goes out (bounded by --telemetry-flush-timeout) while the
    // workers can still be asked for their counters.
    if (options_.telemetry) options_.telemetry->flush();
    for (auto& w : workers_) {
      Worker* worker = w.get();
      worker->post([worker] { worker->stop(); });
    }
    admin_->stop();
    signals_.cancel();
    io_.stop();
  }

  static net::HttpServerOptions admin_options() {
    net::HttpServerOptions options;
    options.server_name = "tg-proxy";
    options.body_limit = 1024 * 1024;  // Beast's default, as before the server was shared
    return options;
  }

  // The admin port's paths (GET and HEAD; the 404 text lists them in this order).
  void register_admin_handlers() {
    admin_->handle("/metrics", [this](const std::string&, net::HttpRespond respond) {
      collect_metrics(std::move(respond));
    });
    admin_->handle("/healthz", [](const std::string&, net::HttpRespond respond) {
      respond({200, "text/plain; charset=utf-8", "ok\n"});
    });
    admin_->handle("/ready", [this](const std::string&, net::HttpRespond respond) {
      if (draining_) respond({503, "text/plain; charset=utf-8", "draining\n"});
      else respond({200, "text/plain; charset=utf-8", "ready\n"});
    });
    admin_->handle("/config", [this](const std::string&, net::HttpRespond respond) {
      collect_config(std::move(respond));
    });
  }

  // Takes a copy of every worker's counters on that worker, then calls `done`
  // with them on the main thread (no lock: the posts order the copies).
  void collect(std::function<void(std::vector<WorkerStatsCopy>&)> done) {
    struct Collection {
      std::vector<WorkerStatsCopy> copies;
      std::size_t remaining;
      std::function<void(std::vector<WorkerStatsCopy>&)> done;
    };
    auto collection = std::make_shared<Collection>();
    collection->copies.resize(workers_.size());
    collection->remaining = workers_.size();
    collection->done = std::move(done);
    for (std::size_t i = 0; i < workers_.size(); ++i) {
      Worker* worker = workers_[i].get();
      LimitGate* limits = limit_gates_[i].get();
      worker->post([this, worker, limits, collection, i] {
        collection->copies[i] = worker->collect();
        collection->copies[i].limits = limits->collect();
        boost::asio::post(io_, [collection] {
          if (--collection->remaining) return;
          collection->done(collection->copies);
        });
      });
    }
  }

  // The telemetry collector's thread: every worker's counters and kept
  // breaker transitions, copied on the worker; waits at most `timeout`.
  std::vector<std::optional<WorkerStatsCopy>> collect_telemetry(std::chrono::milliseconds timeout) {
    struct Collection {
      std::mutex mutex;
      std::condition_variable cv;
      std::vector<std::optional<WorkerStatsCopy>> copies;
      std::size_t remaining = 0;
      bool closed = false;  // the collector gave up waiting: late copies are dropped
    };
    auto collection = std::make_shared<Collection>();
    collection->copies.resize(workers_.size());
    collection->remaining = workers_.size();
    for (std::size_t i = 0; i < workers_.size(); ++i) {
      Worker* worker = workers_[i].get();
      worker->post([worker, collection, i] {
        WorkerStatsCopy copy = worker->collect();
        copy.events = worker->take_telemetry_events();
        std::lock_guard lock(collection->mutex);
        if (collection->closed) return;
        collection->copies[i] = std::move(copy);
        if (--collection->remaining == 0) collection->cv.notify_all();
      });
    }
    std::unique_lock lock(collection->mutex);
    collection->cv.wait_for(lock, timeout, [&] { return collection->remaining == 0; });
    collection->closed = true;
    return std::move(collection->copies);
  }

  void collect_metrics(net::HttpRespond respond) {
    collect([this, respond = std::move(respond)](std::vector<WorkerStatsCopy>& copies) {
      admin::ProcessGauges process;
      process.config_version = version_;
      process.reloads_ok = reloads_ok_;
      process.reloads_failed = reloads_failed_;
      process.access_log_dropped = access_log_ ? access_log_->dropped_lines() : 0;
      process.admin_accept_errors = admin_->accept_errors();
      process.draining = draining_;
      if (options_.feed) process.feed = options_.feed->status();
      if (options_.telemetry) process.telemetry = options_.telemetry->status();
      respond({200, "text/plain; version=0.0.4; charset=utf-8", admin::render_metrics(copies, process, &tenants_)});
    });
  }

  // /config: the table being served, with each instance's in-flight requests
  // and open connections summed over the workers.
  void collect_config(net::HttpRespond respond) {
    collect([this, respond = std::move(respond)](std::vector<WorkerStatsCopy>& copies) {
      std::unordered_map<std::string, InstanceLoad> load;
      for (const WorkerStatsCopy& w : copies)
        for (const WorkerStatsCopy::Instance& inst : w.instances) {
          InstanceLoad& l = load[inst.id];
          l.in_flight += inst.in_flight;
          l.connections += inst.open_connections;
        }
      respond({200, "application/json", snapshot_->to_json(&load)});
    });
  }

  const ServerOptions& options_;
  ListenLock listen_lock_;  // held until run() returns, after the workers are joined
  boost::asio::io_context io_{1};
  boost::asio::signal_set signals_;
  std::optional<boost::asio::steady_timer> drain_timer_;
  std::unique_ptr<AccessLogWriter> access_log_;
  // One per worker, registered on it; declared first, so they outlive the workers.
  std::vector<std::unique_ptr<LimitGate>> limit_gates_;
  // Phase 4's authentication, one per worker (destroyed after the workers).
  std::vector<std::unique_ptr<AuthGate>> auth_gates_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::unordered_map<std::string, std::chrono::steady_clock::time_point> unknown_kid_logged_;
  std::optional<net::HttpServer> admin_;
  std::shared_ptr<const Snapshot> snapshot_;
  admin::TenantSeries tenants_{options_.max_tenant_series};
  std::uint64_t version_ = 1;
  std::uint64_t reloads_ok_ = 0;
  std::uint64_t reloads_failed_ = 0;
  std::size_t drained_ = 0;
  bool draining_ = false;
  bool stopping_ = false;
};

}  // namespace

int run_server(const ServerOptions& options) {
  std::signal(SIGPIPE, SIG_IGN);
  Server server(options);
  return server.run();
}

}  // namespace tg::proxy
