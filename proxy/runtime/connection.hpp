// What a worker knows of the client connections it accepted: a list to drain
// or abort them, one lazy deadline each, and a readiness callback from the
// IdleWatcher. The connection itself (proxy/connection/downstream.hpp) is
// built on this; the worker never sees its type, so runtime/ does not depend
// on the request path.
#pragma once

#include "core/ref_counted.hpp"
#include "core/timer_wheel.hpp"

#include <boost/intrusive/list_hook.hpp>

namespace tg::proxy {

using ConnectionHook = boost::intrusive::list_base_hook<boost::intrusive::link_mode<boost::intrusive::auto_unlink>>;

class Connection : public LocalRefCounted<Connection>, public DeadlineEntry, public ConnectionHook {
 public:
  virtual ~Connection() = default;
  // The worker is draining: close now if idle, else after the response in progress.
  virtual void drain() = 0;
  // The worker is stopping: close now, whatever is in progress.
  virtual void abort() = 0;
  // The IdleWatcher reported the descriptor: readable while idle, or the peer
  // closing (EPOLLRDHUP) while a request is suspended.
  virtual void on_watch_event() = 0;
};

}  // namespace tg::proxy
