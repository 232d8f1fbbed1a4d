// The gRPC port's acceptor (control/server/grpc_acceptor) over real loopback
// sockets: the connection cap, the gauge that follows connections closed by
// their owner, the accept back-off when the process runs out of descriptors,
// and the same with a real gRPC server fed by AddInsecureChannelFromFd (its
// channel arguments apply; gRPC shuts a connection down when it is done with
// it, which is what the acceptor's EPOLLHUP tracking relies on).
#include "server/control_server.hpp"
#include "support/descriptor_exhaustion.hpp"
#include "server/grpc_acceptor.hpp"

#include "netio/endpoint.hpp"
#include "tenantgate/v1/admin.grpc.pb.h"

#include <boost/asio/ip/address.hpp>
#include <catch2/catch.hpp>
#include <grpcpp/grpcpp.h>
#include <grpcpp/server_posix.h>

#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <chrono>
#include <mutex>
#include <thread>
#include <vector>

namespace tg::control {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
namespace v1 = ::tenantgate::v1;

template <typename Done>
bool eventually(Done done) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

// A connected blocking client socket (plain POSIX: no descriptor beyond its own).
struct Client {
  int fd = -1;
  Client() : fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) { REQUIRE(fd >= 0); }
  explicit Client(std::uint16_t port) : Client() { connect(port); }
  ~Client() { close(); }
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;
  void connect(std::uint16_t port) const {
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0);
  }
  void close() {
    if (fd >= 0) ::close(fd);
    fd = -1;
  }
  // True once the server closed the connection (EOF or reset), within 10 s.
  bool closed_by_server() const {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 10'000) != 1) return false;
    char byte;
    return ::recv(fd, &byte, 1, 0) <= 0;
  }
};

// The hand-over side without gRPC: keeps the descriptors; end() does what
// gRPC does with a connection it is done with (shutdown, then close).
struct FakeServer {
  std::mutex mutex;
  std::vector<int> fds;
  GrpcAcceptor::HandOver hand_over() {
    return [this](int fd) {
      std::lock_guard lock(mutex);
      fds.push_back(fd);
    };
  }
  std::size_t count() {
    std::lock_guard lock(mutex);
    return fds.size();
  }
  void end(std::size_t i) {
    std::lock_guard lock(mutex);
    ::shutdown(fds.at(i), SHUT_RDWR);
    ::close(fds.at(i));
    fds.at(i) = -1;
  }
  ~FakeServer() {
    for (int fd : fds)
      if (fd >= 0) ::close(fd);
  }
};

const tcp::endpoint loopback_any_port{asio::ip::make_address("127.0.0.1"), 0};

TEST_CASE("grpc acceptor: at most max_connections, one more is closed at once and counted", "[grpc_acceptor]") {
  FakeServer server;
  GrpcAcceptorOptions options;
  options.max_connections = 3;
  GrpcAcceptor acceptor(loopback_any_port, options, server.hand_over());
  const std::uint16_t port = acceptor.local_endpoint().port();
  REQUIRE(port != 0);
  acceptor.start();

  std::vector<std::unique_ptr<Client>> clients;
  for (int i = 0; i < 3; ++i) clients.push_back(std::make_unique<Client>(port));
  REQUIRE(eventually([&] { return server.count() == 3; }));
  CHECK(acceptor.connections() == 3);
  CHECK(acceptor.accepted() == 3);

  Client fourth(port);
  CHECK(fourth.closed_by_server());
  CHECK(eventually([&] { return acceptor.refused() == 1; }));
  CHECK(acceptor.connections() == 3);
  CHECK(server.count() == 3);

  // The owner of a connection ends it: the gauge follows, a new one gets in.
  clients[0]->close();
  server.end(0);
  REQUIRE(eventually([&] { return acceptor.connections() == 2; }));
  Client fifth(port);
  REQUIRE(eventually([&] { return server.count() == 4; }));
  CHECK(acceptor.connections() == 3);
  CHECK(acceptor.accepted() == 4);
  CHECK(acceptor.refused() == 1);

  for (std::size_t i = 1; i < 4; ++i) server.end(i);
  CHECK(eventually([&] { return acceptor.connections() == 0; }));
  CHECK(acceptor.accept_errors() == 0);
  acceptor.stop();
}

TEST_CASE("grpc acceptor: a connection closed only by the peer still counts until its owner ends it",
          "[grpc_acceptor]") {
  // The gauge counts what the server side holds: the peer's close alone
  // (a half-close the owner has not acted on) does not end the connection.
  FakeServer server;
  GrpcAcceptor acceptor(loopback_any_port, {}, server.hand_over());
  acceptor.start();
  {
    Client client(acceptor.local_endpoint().port());
    REQUIRE(eventually([&] { return server.count() == 1; }));
  }
  // Give the acceptor's loop a reason to run (another connection) and check
  // it saw the first still open.
  Client other(acceptor.local_endpoint().port());
  REQUIRE(eventually([&] { return server.count() == 2; }));
  CHECK(acceptor.connections() == 2);
  server.end(0);
  server.end(1);
  CHECK(eventually([&] { return acceptor.connections() == 0; }));
}

using ::tg::test::FileLimit;
using ::tg::test::Filler;

TEST_CASE("grpc acceptor: out of descriptors, accept backs off and recovers", "[grpc_acceptor][backoff][fd-exhaustion]") {
  FakeServer server;
  GrpcAcceptor acceptor(loopback_any_port, {}, server.hand_over());
  const std::uint16_t port = acceptor.local_endpoint().port();
  acceptor.start();

  Client client;  // its socket exists before the descriptors run out; connecting needs none
  {
    FileLimit limit(256);
    Filler filler;
    filler.fill();
    REQUIRE(filler.last_errno == EMFILE);
    client.connect(port);

    REQUIRE(eventually([&] { return acceptor.accept_errors() >= 4; }));
    // No spinning: 50, 100, 200 ms waits lie between those failures.
    CHECK(acceptor.accept_errors() < 20);
    CHECK(acceptor.accept_attempts() < 20);
    CHECK(server.count() == 0);
    CHECK(acceptor.connections() == 0);
    filler.release();
  }
  // Descriptors are back: the next try (at most 1 s later) takes the connection.
  REQUIRE(eventually([&] { return server.count() == 1; }));
  CHECK(acceptor.connections() == 1);
  CHECK(acceptor.accept_errors() >= 4);
  server.end(0);
  CHECK(eventually([&] { return acceptor.connections() == 0; }));
}

TEST_CASE("grpc acceptor: one descriptor left, the accepted connection is held until its dup can be made",
          "[grpc_acceptor][backoff][fd-exhaustion]") {
  FakeServer server;
  GrpcAcceptor acceptor(loopback_any_port, {}, server.hand_over());
  const std::uint16_t port = acceptor.local_endpoint().port();
  acceptor.start();

  Client client;
  {
    FileLimit limit(256);
    Filler filler;
    filler.fill();
    REQUIRE(filler.last_errno == EMFILE);
    ::close(filler.fds.back());  // exactly one free: accept gets it, the dup does not
    filler.fds.pop_back();
    client.connect(port);
    REQUIRE(eventually([&] { return acceptor.accept_errors() >= 2; }));
    CHECK(server.count() == 0);
    CHECK(acceptor.accepted() == 0);
    filler.release();
  }
  REQUIRE(eventually([&] { return server.count() == 1; }));
  CHECK(acceptor.connections() == 1);
  // The same connection, not dropped meanwhile: a byte from the client
  // arrives on the descriptor handed over.
  const char sent = 'x';
  REQUIRE(::send(client.fd, &sent, 1, MSG_NOSIGNAL) == 1);
  int handed = -1;
  {
    std::lock_guard lock(server.mutex);
    handed = server.fds[0];
  }
  pollfd p{handed, POLLIN, 0};
  REQUIRE(::poll(&p, 1, 10'000) == 1);
  char received = 0;
  CHECK(::recv(handed, &received, 1, 0) == 1);
  CHECK(received == 'x');
  server.end(0);
  CHECK(eventually([&] { return acceptor.connections() == 0; }));
}

// A minimal Admin service: enough calls to see connections work.
class TinyAdmin final : public v1::Admin::Service {
 public:
  std::mutex mutex;
  std::vector<std::string> peers, grpc_peers;  // grpc_peer() and gRPC's own peer(), per ListTenants

 private:
  grpc::Status ListTenants(grpc::ServerContext* context, const v1::ListTenantsRequest*,
                           v1::ListTenantsResponse*) override {
    std::lock_guard lock(mutex);
    peers.push_back(grpc_peer(*context));
    grpc_peers.push_back(context->peer());
    return grpc::Status::OK;
  }
  grpc::Status Apply(grpc::ServerContext*, const v1::ApplyRequest*, v1::ApplyResponse*) override {
    return grpc::Status::OK;
  }
};

struct GrpcFixture {
  TinyAdmin service;
  std::unique_ptr<grpc::Server> server;
  std::unique_ptr<GrpcAcceptor> acceptor;

  explicit GrpcFixture(int max_idle_ms, const tcp::endpoint& endpoint = loopback_any_port) {
    grpc::ServerBuilder builder;  // no listening port: connections come from the acceptor
    builder.RegisterService(&service);
    builder.SetMaxReceiveMessageSize(64 * 1024);
    if (max_idle_ms > 0) builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_IDLE_MS, max_idle_ms);
    server = builder.BuildAndStart();
    REQUIRE(server);
    GrpcAcceptorOptions options;
    options.max_connections = 2;
    acceptor = std::make_unique<GrpcAcceptor>(endpoint, options,
                                              [this](int fd) { grpc::AddInsecureChannelFromFd(server.get(), fd); });
    acceptor->start();
  }
  ~GrpcFixture() {
    acceptor->stop();
    server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
  }
  std::unique_ptr<v1::Admin::Stub> stub() const {
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);  // a connection of its own
    args.SetMaxSendMessageSize(-1);
    const std::string target = net::endpoint_text(acceptor->local_endpoint());  // [::1]:P for IPv6
    return v1::Admin::NewStub(grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), args));
  }
};

std::unique_ptr<grpc::ClientContext> context() {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  return context;
}

TEST_CASE("grpc acceptor with a gRPC server: calls work, the receive size applies, gRPC's close ends the count",
          "[grpc_acceptor][grpc]") {
  GrpcFixture fixture(0);
  {
    auto stub = fixture.stub();
    v1::ListTenantsResponse out;
    const grpc::Status status = stub->ListTenants(context().get(), {}, &out);
    INFO(status.error_message());
    CHECK(status.ok());
    CHECK(fixture.acceptor->connections() == 1);
    {
      // gRPC names the connection by its descriptor; grpc_peer gives the address.
      std::lock_guard lock(fixture.service.mutex);
      REQUIRE(fixture.service.peers.size() == 1);
      CHECK(fixture.service.grpc_peers[0].rfind("fd:", 0) == 0);
      CHECK(fixture.service.peers[0].rfind("ipv4:127.0.0.1:", 0) == 0);
      CHECK(fixture.service.peers[0].size() > std::string("ipv4:127.0.0.1:").size());
    }

    // The server's max receive size holds on a handed-over connection.
    v1::ApplyRequest large;
    large.set_yaml(std::string(100 * 1024, '#'));
    v1::ApplyResponse applied;
    const grpc::Status refused = stub->Apply(context().get(), large, &applied);
    INFO(refused.error_message());
    CHECK(refused.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED);
    v1::ApplyRequest small;
    small.set_yaml("tenants: []\n");
    CHECK(stub->Apply(context().get(), small, &applied).ok());
  }
  // The client closed its connection; gRPC notices and shuts its socket
  // down, and the acceptor's dup sees EPOLLHUP.
  CHECK(eventually([&] { return fixture.acceptor->connections() == 0; }));
  CHECK(fixture.acceptor->accepted() == 1);
}

TEST_CASE("grpc acceptor with a gRPC server on IPv6: the peer is named as gRPC names it", "[grpc_acceptor][grpc]") {
  GrpcFixture fixture(0, tcp::endpoint(asio::ip::make_address("::1"), 0));
  auto stub = fixture.stub();
  v1::ListTenantsResponse out;
  REQUIRE(stub->ListTenants(context().get(), {}, &out).ok());
  std::lock_guard lock(fixture.service.mutex);
  REQUIRE(fixture.service.peers.size() == 1);
  CHECK(fixture.service.peers[0].rfind("ipv6:[::1]:", 0) == 0);
}

TEST_CASE("grpc acceptor with a gRPC server: max-connection-idle closes the connection and the count follows",
          "[grpc_acceptor][grpc]") {
  GrpcFixture fixture(200);
  auto stub = fixture.stub();  // kept: only gRPC can end this connection
  v1::ListTenantsResponse out;
  REQUIRE(stub->ListTenants(context().get(), {}, &out).ok());
  CHECK(fixture.acceptor->connections() == 1);
  CHECK(eventually([&] { return fixture.acceptor->connections() == 0; }));
  // The channel reconnects on the next call: a new connection.
  CHECK(stub->ListTenants(context().get(), {}, &out).ok());
  CHECK(fixture.acceptor->accepted() == 2);
}

TEST_CASE("grpc acceptor with a gRPC server: the cap refuses the third client, UNAVAILABLE", "[grpc_acceptor][grpc]") {
  GrpcFixture fixture(0);
  auto first = fixture.stub(), second = fixture.stub(), third = fixture.stub();
  v1::ListTenantsResponse out;
  REQUIRE(first->ListTenants(context().get(), {}, &out).ok());
  REQUIRE(second->ListTenants(context().get(), {}, &out).ok());
  auto short_context = std::make_unique<grpc::ClientContext>();
  short_context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  const grpc::Status status = third->ListTenants(short_context.get(), {}, &out);
  INFO(status.error_message());
  CHECK(status.error_code() == grpc::StatusCode::UNAVAILABLE);
  CHECK(fixture.acceptor->refused() >= 1);
  CHECK(fixture.acceptor->connections() == 2);
}

TEST_CASE("grpc max connections: the default fits the open-files limit, an explicit value above it is refused",
          "[grpc_acceptor]") {
  std::string error;
  CHECK(effective_grpc_max_connections(0, 1'048'576, error) == 2048);
  CHECK(error.empty());
  CHECK(effective_grpc_max_connections(0, 20'000, error) == 2048);
  // 2 descriptors per connection, 256 kept: (1024 - 256) / 2.
  CHECK(effective_grpc_max_connections(0, 1024, error) == 384);
  CHECK(error.empty());
  CHECK(effective_grpc_max_connections(5000, 20'000, error) == 5000);
  CHECK(effective_grpc_max_connections(9872, 20'000, error) == 9872);
  CHECK(effective_grpc_max_connections(9873, 20'000, error) == 0);
  CHECK(error ==
        "--grpc-max-connections 9873: the open-files limit (RLIMIT_NOFILE) is 20000, which allows at most 9872 gRPC "
        "connections (2 descriptors each, 256 kept for the process); raise the hard limit to 20002 (LimitNOFILE= "
        "in systemd, ulimit -Hn) or lower --grpc-max-connections");
  CHECK(effective_grpc_max_connections(0, 200, error) == 0);
  CHECK(error.find("allows at most 0 gRPC connections") != std::string::npos);
  CHECK(effective_grpc_max_connections(3, 0, error) == 3);  // the limit unknown: nothing to check
}

}  // namespace
}  // namespace tg::control
