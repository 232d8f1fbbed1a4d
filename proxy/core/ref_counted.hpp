// Single-thread reference counting for objects owned by one worker.
//
// Connections, requests and per-worker snapshots live on exactly one worker
// thread, so their counts need no atomic instructions (docs/architecture.md, Decisions:
// a request must not touch a shared atomic refcount).
#pragma once

#include <boost/smart_ptr/intrusive_ptr.hpp>
#include <boost/smart_ptr/intrusive_ref_counter.hpp>

namespace tg::proxy {

template <typename T>
using LocalRefCounted = boost::intrusive_ref_counter<T, boost::thread_unsafe_counter>;

template <typename T>
using LocalPtr = boost::intrusive_ptr<T>;

}  // namespace tg::proxy
