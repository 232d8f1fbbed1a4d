// The jwks_url client against servers on loopback: plain http, https with a
// certificate made here (trusted through JwksFetcherOptions::ca_file), SNI,
// host name verification, an untrusted certificate, the body limit, a
// server that never answers (the deadline), a refused connect, non-200.
#include "auth/jwks_fetcher.hpp"

#include "temp_dir.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <catch2/catch.hpp>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <cstdio>
#include <future>
#include <mutex>
#include <thread>

namespace tg::control::auth {
namespace {

namespace asio = boost::asio;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

// A self-signed certificate (EC P-256) for the given subjectAltName.
struct TestCertificate {
  EVP_PKEY* key = nullptr;
  X509* cert = nullptr;

  explicit TestCertificate(const std::string& alt_names) {
    key = EVP_EC_gen("P-256");
    cert = X509_new();
    X509_set_version(cert, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
    X509_gmtime_adj(X509_getm_notBefore(cert), -60);
    X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
    X509_set_pubkey(cert, key);
    X509_NAME* name = X509_get_subject_name(cert);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("tg-test"), -1, -1, 0);
    X509_set_issuer_name(cert, name);
    X509V3_CTX context;
    X509V3_set_ctx_nodb(&context);
    X509V3_set_ctx(&context, cert, cert, nullptr, nullptr, 0);
    for (const auto& [nid, value] : {std::pair<int, std::string>{NID_subject_alt_name, alt_names},
                                     std::pair<int, std::string>{NID_basic_constraints, "critical,CA:TRUE"}}) {
      X509_EXTENSION* extension = X509V3_EXT_conf_nid(nullptr, &context, nid, value.c_str());
      REQUIRE(extension);
      X509_add_ext(cert, extension, -1);
      X509_EXTENSION_free(extension);
    }
    REQUIRE(X509_sign(cert, key, EVP_sha256()) > 0);
  }
  ~TestCertificate() {
    X509_free(cert);
    EVP_PKEY_free(key);
  }
  void write_pem(const std::string& path) const {
    FILE* file = std::fopen(path.c_str(), "w");
    REQUIRE(file);
    PEM_write_X509(file, cert);
    std::fclose(file);
  }
};

// One response for every request, over TLS when given a certificate. Records
// the server name (SNI) the client sent.
class TestServer {
 public:
  TestServer(std::string response, const TestCertificate* certificate = nullptr) : response_(std::move(response)) {
    if (certificate) {
      tls_.emplace(ssl::context::tls_server);
      SSL_CTX_use_certificate(tls_->native_handle(), certificate->cert);
      SSL_CTX_use_PrivateKey(tls_->native_handle(), certificate->key);
    }
    acceptor_.open(tcp::v4());
    acceptor_.set_option(tcp::acceptor::reuse_address(true));
    acceptor_.bind(tcp::endpoint(asio::ip::address_v4::loopback(), 0));
    acceptor_.listen();
    thread_ = std::thread([this] { serve(); });
  }
  ~TestServer() {
    stopping_ = true;
    tcp::socket poke(io_);
    boost::system::error_code ignored;
    poke.connect(tcp::endpoint(asio::ip::address_v4::loopback(), port()), ignored);
    thread_.join();
  }
  unsigned short port() const { return acceptor_.local_endpoint().port(); }
  std::string server_name() {
    std::lock_guard lock(mutex_);
    return server_name_;
  }

 private:
  template <class Stream>
  void answer(Stream& stream) {
    boost::system::error_code ec;
    asio::streambuf buffer;
    asio::read_until(stream, buffer, "\r\n\r\n", ec);
    if (ec || response_.empty()) {
      if (!ec) std::this_thread::sleep_for(1500ms);  // never answers in time
      return;
    }
    asio::write(stream, asio::buffer(response_), ec);
  }

  void serve() {
    while (true) {
      tcp::socket socket(io_);
      boost::system::error_code ec;
      acceptor_.accept(socket, ec);
      if (stopping_) return;
      if (ec) continue;
      if (!tls_) {
        answer(socket);
        continue;
      }
      ssl::stream<tcp::socket&> stream(socket, *tls_);
      stream.handshake(ssl::stream_base::server, ec);
      if (const char* name = SSL_get_servername(stream.native_handle(), TLSEXT_NAMETYPE_host_name)) {
        std::lock_guard lock(mutex_);
        server_name_ = name;
      }
      if (ec) continue;
      answer(stream);
      stream.shutdown(ec);
    }
  }

  std::string response_;
  asio::io_context io_;
  tcp::acceptor acceptor_{io_};
  std::optional<ssl::context> tls_;
  std::atomic<bool> stopping_{false};
  std::mutex mutex_;
  std::string server_name_;
  std::thread thread_;
};

std::string ok_response(const std::string& body, const std::string& headers = {}) {
  return "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n" + headers +
         "Content-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
}

FetchResult fetch(JwksFetcher& fetcher, const std::string& text) {
  JwksUrl url;
  const std::string problem = parse_jwks_url(text, url);
  REQUIRE(problem.empty());
  std::promise<FetchResult> result;
  fetcher.fetch(url, [&result](FetchResult r) { result.set_value(std::move(r)); });
  auto future = result.get_future();
  REQUIRE(future.wait_for(10s) == std::future_status::ready);
  return future.get();
}

const std::string jwks = R"({"keys":[{"kty":"RSA","kid":"a","n":"x","e":"AQAB"}]})";

TEST_CASE("jwks fetcher: plain http on loopback, Cache-Control, status", "[auth][fetcher]") {
  JwksFetcher fetcher;
  fetcher.start();
  TestServer server(ok_response(jwks, "Cache-Control: public, max-age=60\r\n"));
  const FetchResult result = fetch(fetcher, "http://127.0.0.1:" + std::to_string(server.port()) + "/jwks");
  CHECK(result.error == "");
  CHECK(result.status == 200);
  CHECK(result.body == jwks);
  CHECK(result.cache_control == "public, max-age=60");

  TestServer failing("HTTP/1.1 503 Busy\r\nContent-Length: 0\r\n\r\n");
  const FetchResult busy = fetch(fetcher, "http://127.0.0.1:" + std::to_string(failing.port()) + "/jwks");
  CHECK(busy.error == "http 503");
  CHECK(busy.body.empty());
}

TEST_CASE("jwks fetcher: https with a trusted certificate, SNI and host name verification", "[auth][fetcher]") {
  test::TempDir dir;
  TestCertificate good("IP:127.0.0.1,DNS:localhost");
  good.write_pem(dir.file("good.pem"));
  TestServer server(ok_response(jwks), &good);
  const std::string port = std::to_string(server.port());

  JwksFetcherOptions options;
  options.ca_file = dir.file("good.pem");
  JwksFetcher trusting(options);
  trusting.start();
  const FetchResult by_address = fetch(trusting, "https://127.0.0.1:" + port + "/jwks");
  CHECK(by_address.error == "");
  CHECK(by_address.body == jwks);
  const FetchResult by_name = fetch(trusting, "https://localhost:" + port + "/jwks");
  CHECK(by_name.error == "");
  CHECK(server.server_name() == "localhost");  // SNI

  // A certificate for another name: refused, whoever signed it.
  TestCertificate other("DNS:other.example");
  other.write_pem(dir.file("other.pem"));
  TestServer impostor(ok_response(jwks), &other);
  JwksFetcherOptions other_options;
  other_options.ca_file = dir.file("other.pem");
  JwksFetcher fetcher(other_options);
  fetcher.start();
  const FetchResult wrong_name = fetch(fetcher, "https://127.0.0.1:" + std::to_string(impostor.port()) + "/jwks");
  CHECK(wrong_name.error.starts_with("TLS handshake: "));
  CHECK(wrong_name.body.empty());

  // The system store does not trust a certificate made here.
  JwksFetcher system_store;
  system_store.start();
  const FetchResult untrusted = fetch(system_store, "https://127.0.0.1:" + port + "/jwks");
  CHECK(untrusted.error.starts_with("TLS handshake: "));
}

TEST_CASE("jwks fetcher: bounds: body size, deadline, refused connect", "[auth][fetcher]") {
  JwksFetcherOptions options;
  options.max_body = 64;
  options.timeout = 300ms;
  JwksFetcher fetcher(options);
  fetcher.start();
  TestServer big(ok_response(std::string(100, 'x')));
  CHECK(fetch(fetcher, "http://127.0.0.1:" + std::to_string(big.port()) + "/").error == "body larger than 64 bytes");

  TestServer silent("");
  const auto start = std::chrono::steady_clock::now();
  CHECK(fetch(fetcher, "http://127.0.0.1:" + std::to_string(silent.port()) + "/").error == "timeout");
  CHECK(std::chrono::steady_clock::now() - start < 1s);

  unsigned short closed = 0;
  {
    TestServer gone(ok_response(jwks));
    closed = gone.port();
  }
  CHECK(fetch(fetcher, "http://127.0.0.1:" + std::to_string(closed) + "/").error.starts_with("connect: "));
}

}  // namespace
}  // namespace tg::control::auth
