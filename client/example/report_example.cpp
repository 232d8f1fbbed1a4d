// A tenant container's use of tg_client: register, report a status sample
// and a business error, heartbeat, deregister. Run against a tg-control:
//
//   tg-client-example 127.0.0.1:7001 "$(cat ingest.secret)" acme-sim 10.0.0.7:8080
//
// Registration and deregistration are one-off synchronous calls (post_json);
// the reports go through the Client's queue and never block.
#include "tg_client.hpp"

#include <iostream>

int main(int argc, char** argv) {
  if (argc != 5) {
    std::cerr << "usage: tg-client-example HTTP_ADDRESS TOKEN SERVICE INSTANCE_ADDRESS\n";
    return 2;
  }
  const std::string http = argv[1], token = argv[2], service = argv[3], address = argv[4];
  const std::string id = service + "/" + address;
  const auto timeout = std::chrono::seconds(5);
  auto registered = tg::client::post_json(
      http, "/v1/ingest/register", token,
      "{\"service\":" + tg::client::json_string(service) + ",\"address\":" + tg::client::json_string(address) +
          ",\"ttl_ms\":30000}",
      timeout);
  std::cout << "register: " << registered.status << " " << registered.body << registered.error << "\n";
  if (!registered.ok()) return 1;
  {
    tg::client::ClientOptions options;
    options.address = http;
    options.token = token;
    tg::client::Client client(options);
    client.report_status({id, 0.25, 64 << 20, 0, 0.1, ""});
    client.report_event({service, id, "OrderFailed", "error", "order 12345 failed", "{\"order\":12345}", "", 0});
    client.heartbeat(id);
    client.flush(timeout);
    const auto stats = client.stats();
    std::cout << "sent " << stats.sent << ", rejected " << stats.rejected << ", failed " << stats.failed << "\n";
  }
  auto gone = tg::client::post_json(http, "/v1/ingest/deregister", token,
                                    "{\"instance\":" + tg::client::json_string(id) + "}", timeout);
  std::cout << "deregister: " << gone.status << " " << gone.body << gone.error << "\n";
  return gone.ok() ? 0 : 1;
}
