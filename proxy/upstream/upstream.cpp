#include "upstream/upstream.hpp"

#include "observability/access_log.hpp"

#include <algorithm>
#include <cerrno>
#include <string>
#include <sys/socket.h>

namespace tg::proxy {

InstanceRuntime::InstanceRuntime(std::string id_, std::string service_, tcp::endpoint endpoint_)
    : id(std::move(id_)), service(std::move(service_)), endpoint(endpoint_), id_json(json_escaped(id)) {
  const auto ip = endpoint.address();
  address = ip.is_v6() ? "[" + ip.to_string() + "]" : ip.to_string();
  address += ':';
  address += std::to_string(endpoint.port());
}

InstanceRuntime::~InstanceRuntime() {
  for (auto& conn : idle) {
    conn->parked_ = false;
    TimerWheel::clear(*conn);
    conn->close();
  }
}

void InstanceRuntime::wake_pending() {
  const std::uint32_t free = room();
  while (pending.woken() < free && pending.wake_one()) {
  }
}

UpstreamConn::UpstreamConn(PoolHost& host, InstanceRuntime& instance)
    : host_(host), instance_(&instance), socket_(host.executor) {
  ++instance.open_connections;
  ++host_.open_connections;
}

UpstreamConn::~UpstreamConn() { close(); }

void UpstreamConn::close() {
  if (closed_) return;
  closed_ = true;
  boost::system::error_code ignored;
  socket_.close(ignored);
  // Detach now: pending handlers may keep this object alive after its
  // instance is gone.
  InstanceRuntime* const instance = instance_;
  instance_ = nullptr;
  --host_.open_connections;
  if (!instance) return;
  --instance->open_connections;
  // A slot under the connection share is free: the next waiter may open one.
  if (!instance->pending.empty()) [[unlikely]] instance->wake_pending();
}

void UpstreamConn::park(std::uint64_t idle_timeout_ms) {
  parked_ = true;
  instance_->idle.emplace_back(this);
  host_.wheel.set(*this, host_.now_ms + idle_timeout_ms);
  // The next request waiting for this instance takes it.
  if (!instance_->pending.empty()) [[unlikely]] instance_->wake_pending();
  // No read or wait is left pending on a parked connection: with asio's
  // edge-triggered epoll, arming one costs an epoll_ctl per request, and
  // cancelling it a handler run. An upstream that closes a parked connection
  // is noticed by the peek in take() (one recv per reuse) or by the idle
  // timeout, whichever comes first.
}

LocalPtr<UpstreamConn> UpstreamConn::take(InstanceRuntime& instance) {
  while (!instance.idle.empty()) {
    LocalPtr<UpstreamConn> conn = std::move(instance.idle.back());
    instance.idle.pop_back();
    conn->parked_ = false;
    TimerWheel::clear(*conn);
    if (conn->socket_.is_open() && conn->alive()) return conn;
    conn->close();
  }
  return nullptr;
}

bool UpstreamConn::alive() {
  // The upstream may have closed (FIN) or written since the connection was
  // parked, with the event not handled yet. Writing a request into such a
  // connection would lose it; one peek tells, before any byte is sent.
  char byte;
  const ssize_t n = ::recv(socket_.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

void UpstreamConn::drop_from_pool() {
  LocalPtr<UpstreamConn> keep(this);  // the pool's reference may be the last
  parked_ = false;
  TimerWheel::clear(*this);
  if (instance_) {
    auto& idle = instance_->idle;
    auto it = std::find(idle.begin(), idle.end(), keep);
    if (it != idle.end()) idle.erase(it);
  }
  close();
}

void UpstreamConn::on_deadline() {
  if (parked_) drop_from_pool();
}

}  // namespace tg::proxy
