// control/tgctl/run.*: the whole program against an in-process fake Admin
// server on loopback — what is sent (request, token, deadline), what is
// printed, and the exit code.
#include "parse_helpers.hpp"

#include "tenantgate/v1/admin.grpc.pb.h"
#include "tgctl/run.hpp"

#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server.h>
#include <grpcpp/server_builder.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <condition_variable>
#include <google/protobuf/util/json_util.h>
#include <mutex>

using namespace tg::tgctl;
using namespace tg::tgctl::test;
namespace v1 = tenantgate::v1;

namespace {

// Answers CreateRoute / PatchService / ListTenants with what the test sets; records the last
// request and its authorization metadata. `stall` makes a call wait (up to
// 5 s) so that the client's deadline passes first.
class FakeAdmin final : public v1::Admin::Service {
 public:
  grpc::Status CreateRoute(grpc::ServerContext* context, const v1::CreateRouteRequest* request,
                           v1::Route* response) override {
    record(context, *request);
    if (!status_.ok()) return status_;
    *response = request->route();
    response->mutable_meta()->mutable_source()->set_kind(v1::Source::KIND_API);
    return grpc::Status::OK;
  }

  grpc::Status PatchService(grpc::ServerContext* context, const v1::PatchServiceRequest* request,
                            v1::Service* response) override {
    record(context, *request);
    if (!status_.ok()) return status_;
    *response = request->service();
    return grpc::Status::OK;
  }

  grpc::Status ListTenants(grpc::ServerContext* context, const v1::ListTenantsRequest* request,
                           v1::ListTenantsResponse* response) override {
    record(context, *request);
    if (stall_) {
      std::unique_lock lock(mutex_);
      released_.wait_for(lock, std::chrono::seconds(5), [&] { return release_; });
    }
    if (!status_.ok()) return status_;
    response->add_tenants()->set_id("acme");
    response->add_tenants()->set_id("globex");
    return grpc::Status::OK;
  }

  void fail_with(grpc::Status status) { status_ = std::move(status); }
  void stall() { stall_ = true; }
  void release() {
    std::lock_guard lock(mutex_);
    release_ = true;
    released_.notify_all();
  }

  std::string last_authorization() {
    std::lock_guard lock(mutex_);
    return authorization_;
  }
  std::string last_request() {
    std::lock_guard lock(mutex_);
    return request_;
  }
  int calls() {
    std::lock_guard lock(mutex_);
    return calls_;
  }

 private:
  void record(grpc::ServerContext* context, const google::protobuf::Message& request) {
    std::lock_guard lock(mutex_);
    ++calls_;
    request_ = text_of(request);
    authorization_.clear();
    const auto& metadata = context->client_metadata();
    if (const auto found = metadata.find("authorization"); found != metadata.end()) {
      authorization_.assign(found->second.data(), found->second.size());
    }
  }

  grpc::Status status_ = grpc::Status::OK;
  bool stall_ = false;
  std::mutex mutex_;
  std::condition_variable released_;
  bool release_ = false;
  int calls_ = 0;
  std::string request_, authorization_;
};

class FakeServer {
 public:
  FakeServer() {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
    builder.RegisterService(&admin_);
    server_ = builder.BuildAndStart();
    REQUIRE(server_ != nullptr);
    REQUIRE(port_ > 0);
  }
  ~FakeServer() {
    admin_.release();
    server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  FakeAdmin& admin() { return admin_; }

 private:
  FakeAdmin admin_;
  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
};

// A loopback port bound but not listening: connecting to it is refused.
class ClosedPort {
 public:
  ClosedPort() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
    socklen_t length = sizeof address;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length);
    port_ = ntohs(address.sin_port);
  }
  ~ClosedPort() { ::close(fd_); }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

 private:
  int fd_ = -1;
  int port_ = 0;
};

struct Result {
  int exit_code;
  std::string out, err;
};

Result run_tgctl(std::vector<std::string> args) {
  std::ostringstream out, err;
  const int code = run(args, test_environment(), out, err);
  return {code, out.str(), err.str()};
}

}  // namespace

TEST_CASE("run: a successful call prints the result and exits 0", "[tgctl][run]") {
  FakeServer server;
  const Result result = run_tgctl({"--server", server.address(), "routes", "create", "r1", "--service",
                                   "s", "--path-prefix", "/api/"});
  INFO(result.err);
  CHECK(result.exit_code == 0);
  CHECK(result.err.empty());
  CHECK(server.admin().last_request() == "route { name: \"r1\" match { path_prefix: \"/api/\" } service: \"s\" }");
  CHECK(result.out ==
        "NAME  HOST  PATH    METHOD  HEADER  SERVICE  REWRITE  SOURCE\n"
        "r1    *     /api/*  -       -       s        -        api\n");
  CHECK(server.admin().last_authorization().empty());
}

TEST_CASE("run: -o json prints the response as protobuf JSON", "[tgctl][run]") {
  FakeServer server;
  const Result result = run_tgctl({"--server", server.address(), "-o", "json", "tenants", "list"});
  REQUIRE(result.exit_code == 0);
  v1::ListTenantsResponse back;
  REQUIRE(google::protobuf::util::JsonStringToMessage(result.out, &back).ok());
  REQUIRE(back.tenants_size() == 2);
  CHECK(back.tenants(1).id() == "globex");
}

TEST_CASE("run: a refusal prints CODE: message and exits 1", "[tgctl][run]") {
  FakeServer server;
  server.admin().fail_with(grpc::Status(grpc::StatusCode::NOT_FOUND, "service \"x\" does not exist"));
  const Result result =
      run_tgctl({"--server", server.address(), "routes", "create", "r1", "--service", "x"});
  CHECK(result.exit_code == 1);
  CHECK(result.out.empty());
  CHECK(result.err == "tgctl: routes create: NOT_FOUND: service \"x\" does not exist\n");

  server.admin().fail_with(grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "missing bearer token"));
  const Result unauthenticated = run_tgctl({"--server", server.address(), "tenants", "list"});
  CHECK(unauthenticated.exit_code == 1);
  CHECK(unauthenticated.err ==
        "tgctl: tenants list: UNAUTHENTICATED: missing bearer token; pass --token-file FILE or set "
        "TG_TOKEN_FILE (a file holding the admin token)\n");
}

TEST_CASE("run: PERMISSION_DENIED names the role the call needs and the token file, exit 1", "[tgctl][run]") {
  FakeServer server;
  const TempFile token("ro s3cret-ro viewer\n");
  server.admin().fail_with(grpc::Status(grpc::StatusCode::PERMISSION_DENIED,
                                        "token 'ro' has role viewer: CreateTenant may change the registry and "
                                        "needs role admin"));
  const Result denied = run_tgctl({"--server", server.address(), "--token-file", token.path(), "tenants", "list"});
  CHECK(denied.exit_code == 1);
  CHECK(denied.err == "tgctl: tenants list: PERMISSION_DENIED: token 'ro' has role viewer: CreateTenant may change "
                      "the registry and needs role admin; use a token of that role (the token in " +
                          token.path() + " lacks it)\n");
  CHECK(server.admin().last_authorization() == "Bearer s3cret-ro");
}

TEST_CASE("run: refusals name the flags to pass, not the API fields", "[tgctl][run]") {
  FakeServer server;
  server.admin().fail_with(grpc::Status(
      grpc::StatusCode::FAILED_PRECONDITION,
      "service \"acme-web\" is owned by config file acme.yaml (line 4); change it there, or pass "
      "take_ownership to manage it through the API from now on"));
  const Result owned = run_tgctl({"--server", server.address(), "services", "patch", "acme-web", "--lb", "maglev"});
  CHECK(owned.exit_code == 1);
  CHECK(owned.err ==
        "tgctl: services patch: FAILED_PRECONDITION: service \"acme-web\" is owned by config file acme.yaml "
        "(line 4); change it there, or pass --take-ownership to manage it through the API from now on\n");

  const TempFile token("ops wrong\n");
  server.admin().fail_with(grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "unknown bearer token"));
  const Result rejected =
      run_tgctl({"--server", server.address(), "--token-file", token.path(), "tenants", "list"});
  CHECK(rejected.exit_code == 1);
  CHECK(rejected.err == "tgctl: tenants list: UNAUTHENTICATED: unknown bearer token; the token in " + token.path() +
                            " (--token-file or TG_TOKEN_FILE) was not accepted\n");
}

TEST_CASE("run: the token file's token goes out as a bearer token", "[tgctl][run][token]") {
  FakeServer server;
  const TempFile token("ops s3cret\n");
  const Result result =
      run_tgctl({"--server", server.address(), "--token-file", token.path(), "tenants", "list"});
  CHECK(result.exit_code == 0);
  CHECK(server.admin().last_authorization() == "Bearer s3cret");

  const Result missing =
      run_tgctl({"--server", server.address(), "--token-file", "/nonexistent/t", "tenants", "list"});
  CHECK(missing.exit_code == 2);
  CHECK(missing.err.find("--token-file: cannot read /nonexistent/t") != std::string::npos);
  CHECK(server.admin().calls() == 1);  // nothing sent for the usage error
}

TEST_CASE("run: no server or no answer in time exits 3", "[tgctl][run]") {
  SECTION("connection refused: UNAVAILABLE naming the address") {
    ClosedPort closed;
    const Result result = run_tgctl({"--server", closed.address(), "tenants", "list"});
    CHECK(result.exit_code == 3);
    CHECK(result.err.starts_with("tgctl: tenants list: UNAVAILABLE: cannot reach tg-control at " +
                                 closed.address()));
  }
  SECTION("a stalled server: DEADLINE_EXCEEDED after --timeout") {
    FakeServer server;
    server.admin().stall();
    const auto start = std::chrono::steady_clock::now();
    const Result result =
        run_tgctl({"--server", server.address(), "--timeout", "200ms", "tenants", "list"});
    const auto took = std::chrono::steady_clock::now() - start;
    CHECK(result.exit_code == 3);
    CHECK(result.err.find("DEADLINE_EXCEEDED: no answer from " + server.address() + " within 200ms") !=
          std::string::npos);
    CHECK(took < std::chrono::seconds(4));  // the deadline, not the server's 5 s stall
  }
}

TEST_CASE("run: usage errors send nothing and exit 2", "[tgctl][run]") {
  FakeServer server;
  const Result result =
      run_tgctl({"--server", server.address(), "routes", "create", "r1", "--header", "bad"});
  CHECK(result.exit_code == 2);
  CHECK(result.err == "tgctl: routes create: --header: expected KEY=VALUE, got \"bad\"\n");
  CHECK(server.admin().calls() == 0);
}
