// tg-test-backend: the in-process fake Backend (support/backend.hpp) as a
// process of its own, so tests can SIGKILL, SIGSTOP and SIGCONT an upstream
// and start it again at the address it is registered under.
//
//   tg-test-backend --name NAME [--port P] [--ready-file F] [--slow-delay-ms MS]
//
// Answers like Backend: GET /healthz 200 "ok"; /slow... echo after
// --slow-delay-ms; /ws... an upgrade tunnel that echoes (upgrade_echo); every
// other path echo JSON; every response carries X-Backend-Name: NAME. Listens
// on 127.0.0.1:P (0 = a port the kernel picks) with SO_REUSEADDR, writes
// "port=P\n" to the ready file (atomically) and to stdout once listening,
// and exits 0 on SIGTERM or SIGINT.
#include "support/backend.hpp"
#include "support/temp_dir.hpp"

#include <CLI/CLI.hpp>

#include <csignal>
#include <cstdio>
#include <exception>

int main(int argc, char** argv) {
  CLI::App app{"tg-test-backend: a fake HTTP upstream for integration tests"};
  std::string name;
  unsigned port = 0;
  std::string ready_file;
  unsigned slow_delay_ms = 2000;
  app.add_option("--name", name, "X-Backend-Name of every response")->required();
  app.add_option("--port", port, "port on 127.0.0.1 (0 = pick one)")->check(CLI::Range(0u, 65535u));
  app.add_option("--ready-file", ready_file, "write port=P here once listening");
  app.add_option("--slow-delay-ms", slow_delay_ms, "how long /slow requests wait before the answer")
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  // Blocked before Backend starts its threads, so only sigwait() sees them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  try {
    using tg::itest::Behaviour;
    tg::itest::Backend backend(name, Behaviour::echo(), static_cast<std::uint16_t>(port));
    backend.on_path("/healthz", Behaviour::fixed(200, "ok\n"));
    backend.on_path("/slow", Behaviour::echo().with_delay(std::chrono::milliseconds(slow_delay_ms)));
    backend.on_path("/ws", Behaviour::of(tg::itest::BackendMode::upgrade_echo));
    const std::string ready = "port=" + std::to_string(backend.port()) + "\n";
    if (!ready_file.empty()) tg::itest::write_file_atomically(ready_file, ready);
    std::fputs(ready.c_str(), stdout);
    std::fflush(stdout);
    int signal = 0;
    sigwait(&stop_signals, &signal);
    backend.stop();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tg-test-backend %s: %s\n", name.c_str(), e.what());
    return 1;
  }
  return 0;
}
