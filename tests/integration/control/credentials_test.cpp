// Tenant credentials and JWT keys end to end: the real tg-control, tgctl, and
// a table-stream client speaking Discovery.StreamTable as a proxy does.
//   * `tgctl tenants credentials create` prints the secret once; `list` shows
//     names and kinds, never a hash; the table carries the hash, and a delete
//     revokes it with the next version, a delta of the tenant entry.
//   * an apply diff of a tenant's credentials names them without whole hashes;
//   * a tenant with a jwks_url on a loopback test server gets its keys into
//     the table; the server's key rotated → after a KeyRequest the new set is
//     pushed; the server down → the last good set stays.
#include "control/support/control_process.hpp"
#include "control/support/json_output.hpp"
#include "control/support/tgctl_run.hpp"
#include "support/backend.hpp"
#include "support/http_client.hpp"
#include "support/poll.hpp"
#include "support/prometheus_text.hpp"

#include "tenantgate/v1/discovery.grpc.pb.h"

#include <catch2/catch.hpp>
#include <grpcpp/grpcpp.h>
#include <openssl/evp.h>

#include <map>
#include <sstream>

using namespace tg::itest;
namespace v1 = tenantgate::v1;

namespace {

std::string sha256(const std::string& text) {
  unsigned char digest[32];
  unsigned int size = 0;
  EVP_Digest(text.data(), text.size(), digest, &size, EVP_sha256(), nullptr);
  return std::string(reinterpret_cast<const char*>(digest), size);
}

std::string hex(const std::string& bytes) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out += digits[c >> 4];
    out += digits[c & 15];
  }
  return out;
}

// A tenant, a service and enough routes that one tenant entry is a small
// part of the table (so a change of it goes out as a delta).
std::string world(const std::string& tenant_extra = {}) {
  std::string yaml = "tenants:\n  - id: acme\n" + tenant_extra +
                     "services:\n  - name: web\n    tenant: acme\n"
                     "    instances:\n      - { id: web-1, address: 127.0.0.1:9 }\n"
                     "routes:\n";
  for (int i = 0; i < 30; ++i)
    yaml += "  - { name: r" + std::to_string(i) + ", match: { host: r" + std::to_string(i) +
            ".example.com, path_prefix: /api/v1/items }, service: web }\n";
  return yaml;
}

// A proxy's table stream, reduced to what these tests look at: the tenant
// entries of the table it serves, kept from full tables and deltas.
class StreamClient {
 public:
  explicit StreamClient(const ControlProcess& control) {
    channel_ = grpc::CreateChannel(control.grpc_address(), grpc::InsecureChannelCredentials());
    stub_ = v1::Discovery::NewStub(channel_);
    context_.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(90));
    stream_ = stub_->StreamTable(&context_);
    v1::StreamTableRequest hello;
    hello.mutable_hello()->set_node_id("edge-1");
    hello.mutable_hello()->set_boot_id("0123456789abcdef");
    if (!stream_->Write(hello)) throw std::runtime_error("hello not written");
    v1::StreamTableResponse welcome;
    if (!stream_->Read(&welcome) || !welcome.has_welcome()) throw std::runtime_error("no welcome");
  }
  ~StreamClient() {
    context_.TryCancel();
    (void)stream_->Finish();
  }

  // Reads the next update, applies it to the tenants, ACKs it; its kind.
  v1::UpdateKind next() {
    v1::StreamTableResponse update;
    if (!stream_->Read(&update)) throw std::runtime_error("the table stream ended");
    v1::Table table;
    if (update.has_config()) {
      tenants_.clear();
      REQUIRE(table.ParseFromString(update.config()));
    } else if (update.has_delta()) {
      REQUIRE(table.ParseFromString(update.delta().upserts()));
      for (const auto& id : update.delta().removed_tenants()) tenants_.erase(id);
      last_delta_ = table;
    }
    for (const auto& tenant : table.tenants()) tenants_[tenant.id()] = tenant;
    v1::StreamTableRequest ack;
    *ack.mutable_ack()->mutable_version() = update.version();
    if (!stream_->Write(ack)) throw std::runtime_error("ack not written");
    return update.kind();
  }
  // Reads updates until `done` holds for the tenants (at most `updates`).
  template <class Done>
  bool until(Done done, int updates = 20) {
    for (int i = 0; i < updates && !done(tenants_); ++i) next();
    return done(tenants_);
  }
  void key_request(const std::string& tenant, const std::string& kid) {
    v1::StreamTableRequest request;
    request.mutable_key_request()->set_tenant(tenant);
    request.mutable_key_request()->set_kid(kid);
    if (!stream_->Write(request)) throw std::runtime_error("key request not written");
  }
  const v1::Tenant& tenant(const std::string& id) const { return tenants_.at(id); }
  const v1::Table& last_delta() const { return last_delta_; }

 private:
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::Discovery::Stub> stub_;
  grpc::ClientContext context_;
  std::unique_ptr<grpc::ClientReaderWriter<v1::StreamTableRequest, v1::StreamTableResponse>> stream_;
  std::map<std::string, v1::Tenant> tenants_;
  v1::Table last_delta_;
};

void run_ok(const ControlProcess& control, const std::vector<std::string>& args) {
  const TgctlResult result = tgctl(control, args);
  if (result.exit_code != 0) throw std::runtime_error("tgctl failed:\n" + result.describe());
}

void apply_yaml(const ControlProcess& control, const std::string& name, const std::string& yaml) {
  run_ok(control, {"apply", "-f", control.write(name, yaml).string()});
}

double control_metric(const ControlProcess& control, const std::string& name, const Labels& labels = {}) {
  return PrometheusText::parse(http_get(control.http_port(), "/metrics").body).value(name, labels).value_or(-1);
}

}  // namespace

TEST_CASE("credentials: tgctl prints the secret once, lists no hash, and a delete revokes it as a delta",
          "[control][credentials]") {
  ControlOptions options;
  options.extra_args = {"--table-debounce", "1ms"};
  ControlProcess control(options);
  apply_yaml(control, "world.yaml", world());
  StreamClient proxy(control);
  REQUIRE(proxy.next() == v1::UPDATE_KIND_FULL);
  CHECK(proxy.tenant("acme").credentials_size() == 0);

  const TgctlResult created = tgctl(control, {"tenants", "credentials", "create", "acme", "ci", "--kind", "api_key"});
  INFO(created.describe());
  REQUIRE(created.exit_code == 0);
  std::string secret;
  std::istringstream lines(created.out);
  for (std::string line; std::getline(lines, line);)
    if (line.starts_with("tg_")) secret = line;
  REQUIRE(secret.size() == 46);
  CHECK(created.out.find("will not be shown again") != std::string::npos);
  CHECK(created.out.find("api_key credential \"ci\" of tenant \"acme\"") != std::string::npos);

  // The table carries the hash of exactly that secret, in a delta of the tenant entry.
  REQUIRE(proxy.next() == v1::UPDATE_KIND_DELTA);
  REQUIRE(proxy.last_delta().tenants_size() == 1);
  CHECK(proxy.last_delta().routes_size() == 0);
  REQUIRE(proxy.tenant("acme").credentials_size() == 1);
  CHECK(proxy.tenant("acme").credentials(0).name() == "ci");
  CHECK(proxy.tenant("acme").credentials(0).kind() == v1::Credential::KIND_API_KEY);
  CHECK(proxy.tenant("acme").credentials(0).sha256() == sha256(secret));

  run_ok(control, {"tenants", "credentials", "create", "acme", "pods", "--kind", "ingest"});
  REQUIRE(proxy.next() == v1::UPDATE_KIND_DELTA);
  CHECK(proxy.tenant("acme").credentials_size() == 2);

  // list: names and kinds; no hash in the table, JSON or YAML forms.
  const TgctlResult listed = tgctl(control, {"tenants", "credentials", "list", "acme"});
  INFO(listed.describe());
  REQUIRE(listed.exit_code == 0);
  CHECK(listed.out.find("NAME") != std::string::npos);
  CHECK(listed.out.find("CREATED") != std::string::npos);
  CHECK(listed.out.find("ci    api_key") != std::string::npos);
  CHECK(listed.out.find("pods  ingest") != std::string::npos);
  const auto as_json = json_as<v1::ListCredentialsResponse>(tgctl(control, {"-o", "json", "tenants", "credentials", "list", "acme"}));
  REQUIRE(as_json.credentials_size() == 2);
  for (const auto& c : as_json.credentials()) CHECK(c.sha256().empty());
  for (const auto& format : {"json", "yaml"}) {
    for (const std::vector<std::string>& args :
         {std::vector<std::string>{"-o", format, "tenants", "credentials", "list", "acme"},
          std::vector<std::string>{"-o", format, "tenants", "get", "acme"},
          std::vector<std::string>{"-o", format, "tenants", "list"}}) {
      const TgctlResult shown = tgctl(control, args);
      INFO(shown.describe());
      REQUIRE(shown.exit_code == 0);
      CHECK(shown.out.find("sha256") == std::string::npos);
      CHECK(shown.out.find("ci") != std::string::npos);
    }
  }

  // A second create of the name is refused; the secret appears in no audit row and no log line.
  const TgctlResult again = tgctl(control, {"tenants", "credentials", "create", "acme", "ci", "--kind", "api_key"});
  CHECK(again.exit_code != 0);
  CHECK(again.err.find("already exists") != std::string::npos);
  const TgctlResult audit = tgctl(control, {"-o", "json", "audit", "list"});
  REQUIRE(audit.exit_code == 0);
  CHECK(audit.out.find("CreateCredential") != std::string::npos);
  CHECK(audit.out.find(secret.substr(3)) == std::string::npos);
  CHECK(audit.out.find(hex(sha256(secret))) == std::string::npos);
  CHECK(control.log().find(secret.substr(3)) == std::string::npos);

  // delete revokes: the next version, a delta of the tenant entry without it.
  const TgctlResult deleted = tgctl(control, {"tenants", "credentials", "delete", "acme", "ci"});
  INFO(deleted.describe());
  REQUIRE(deleted.exit_code == 0);
  CHECK(deleted.out.find("Deleted credential \"ci\" of tenant \"acme\"") != std::string::npos);
  REQUIRE(proxy.next() == v1::UPDATE_KIND_DELTA);
  REQUIRE(proxy.last_delta().tenants_size() == 1);
  REQUIRE(proxy.tenant("acme").credentials_size() == 1);
  CHECK(proxy.tenant("acme").credentials(0).name() == "pods");
  CHECK(tgctl(control, {"tenants", "credentials", "delete", "acme", "ci"}).exit_code != 0);
  const TgctlResult after = tgctl(control, {"tenants", "credentials", "list", "acme"});
  CHECK(after.out.find("ci ") == std::string::npos);
}

TEST_CASE("credentials: an apply diff of YAML credentials names them without whole hashes",
          "[control][credentials][apply]") {
  ControlProcess control;
  const std::string hash_a = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
  const std::string hash_b = "60303ae22b998861bce3b28f33eec1be758a213c86c93c076dbe9f558c11c752";
  const auto yaml = [](const std::string& hash) {
    return "tenants:\n  - id: acme\n    credentials:\n      - { name: ci, kind: api_key, sha256: " + hash + " }\n";
  };
  const TgctlResult created = tgctl(control, {"apply", "-f", control.write("a.yaml", yaml(hash_a)).string()});
  INFO(created.describe());
  REQUIRE(created.exit_code == 0);
  CHECK(created.out.find("1 to create") != std::string::npos);
  const TgctlResult same = tgctl(control, {"apply", "-f", control.write("a.yaml", yaml(hash_a)).string()});
  CHECK(same.out.find("1 unchanged") != std::string::npos);

  const TgctlResult rotated =
      tgctl(control, {"apply", "--dry-run", "-f", control.write("a.yaml", yaml(hash_b)).string()});
  INFO(rotated.describe());
  REQUIRE(rotated.exit_code == 0);
  CHECK(rotated.out.find("credentials[ci].sha256: n4bQgYhM -> YDA64iuZ") != std::string::npos);
  CHECK(rotated.out.find(hash_b) == std::string::npos);
  CHECK(rotated.out.find(hash_a) == std::string::npos);

  const TgctlResult added = tgctl(
      control, {"apply", "--dry-run", "-f",
                control.write("a.yaml", yaml(hash_a) + "      - { name: pods, kind: ingest, sha256: " + hash_b + " }\n")
                    .string()});
  INFO(added.describe());
  CHECK(added.out.find("credentials[pods]: (none) -> added") != std::string::npos);
}

TEST_CASE("jwt keys: a jwks_url on a loopback server reaches the table, a rotation follows a KeyRequest, "
          "and the last good set stays when the server is down",
          "[control][jwt]") {
  const std::string set_a = R"({"keys":[{"kty":"RSA","kid":"a","n":"nA","e":"AQAB"}]})";
  const std::string set_b = R"({"keys":[{"kty":"RSA","kid":"b","n":"nB","e":"AQAB"}]})";
  auto jwks = [](const std::string& body) {
    Behaviour b = Behaviour::fixed(200, body);
    b.headers.add("Cache-Control", "max-age=3600");
    return b;
  };
  Backend server("jwks", jwks(set_a));
  ControlOptions options;
  options.extra_args = {"--table-debounce", "1ms", "--jwks-refetch-interval", "1s"};
  ControlProcess control(options);
  apply_yaml(control, "world.yaml",
             world("    jwt:\n      issuer: https://auth.acme.example\n      audiences: [tenantgate]\n"
                   "      jwks_url: http://" + server.address() + "/jwks\n"));
  StreamClient proxy(control);
  const auto jwks_of = [](const std::string& id) {
    return [id](const std::map<std::string, v1::Tenant>& tenants) {
      auto it = tenants.find(id);
      return it == tenants.end() ? std::string() : it->second.jwt().jwks_json();
    };
  };
  REQUIRE(proxy.until([&](const auto& tenants) { return jwks_of("acme")(tenants) == set_a; }));
  CHECK(proxy.tenant("acme").jwt().jwks_url() == "http://" + server.address() + "/jwks");
  CHECK(server.requests() == 1);
  // The Admin API never shows the keys.
  const TgctlResult shown = tgctl(control, {"-o", "json", "tenants", "get", "acme"});
  CHECK(shown.out.find("jwks_url") != std::string::npos);
  CHECK(shown.out.find("jwks_json") == std::string::npos);

  // The issuer rotates its key; a proxy sees kid "b" and asks.
  server.set_behaviour(jwks(set_b));
  REQUIRE(poll_for(std::chrono::seconds(5), [&] {
    proxy.key_request("acme", "b");
    return server.requests() >= 2;
  }, std::chrono::milliseconds(300)));
  REQUIRE(proxy.next() == v1::UPDATE_KIND_DELTA);
  REQUIRE(proxy.last_delta().tenants_size() == 1);
  CHECK(proxy.last_delta().routes_size() == 0);
  CHECK(proxy.tenant("acme").jwt().jwks_json() == set_b);
  CHECK(control_metric(control, "tg_control_jwks_fetches_total", {{"result", "changed"}}) == 2);

  // The server goes away: a KeyRequest's fetch fails, the last good set stays.
  server.stop();
  REQUIRE(poll_for(std::chrono::seconds(5), [&] {
    proxy.key_request("acme", "c");
    return control_metric(control, "tg_control_jwks_fetches_total", {{"result", "failed"}}) >= 1;
  }, std::chrono::milliseconds(300)));
  CHECK(control_metric(control, "tg_control_jwt_keys", {{"tenant", "acme"}}) == 1);
  // The next version (any change of the tenant) still carries set B.
  run_ok(control, {"tenants", "patch", "acme", "--label", "tier=gold"});
  REQUIRE(proxy.next() == v1::UPDATE_KIND_DELTA);
  CHECK(proxy.tenant("acme").labels().at("tier") == "gold");
  CHECK(proxy.tenant("acme").jwt().jwks_json() == set_b);
  CHECK(control.log().find("the last good keys stay in force") != std::string::npos);
}

TEST_CASE("jwt keys: a jwks_file that cannot be read is refused at apply, and at startup it is logged and counted",
          "[control][jwt]") {
  ControlProcess probe_dir_owner(ControlOptions{}, false);  // only for its private dir
  const auto missing = probe_dir_owner.dir() / "missing.jwks";
  const std::string tenant = "tenants:\n  - id: acme\n    jwt: { issuer: https://a, audiences: [t], jwks_file: " +
                             missing.string() + " }\n";
  ControlOptions options;
  options.configs = {probe_dir_owner.write("startup.yaml", tenant)};
  ControlProcess control(options);
  CHECK(control.log().find("jwks_file " + missing.string() + ": cannot be read") != std::string::npos);
  CHECK(control_metric(control, "tg_control_jwt_key_load_failures_total") == 1);
  CHECK(control_metric(control, "tg_control_jwt_keys", {{"tenant", "acme"}}) == 0);

  const TgctlResult refused = tgctl(
      control, {"apply", "-f",
                control.write("b.yaml", "tenants:\n  - id: globex\n    jwt: { issuer: https://g, audiences: [t], "
                                        "jwks_file: " + missing.string() + " }\n")
                    .string()});
  INFO(refused.describe());
  CHECK(refused.exit_code != 0);
  CHECK(refused.err.find("b.yaml:2:") != std::string::npos);
  CHECK(refused.err.find("cannot be read (No such file or directory)") != std::string::npos);
}
