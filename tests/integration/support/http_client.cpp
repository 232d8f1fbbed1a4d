#include "support/http_client.hpp"

#include <algorithm>
#include <charconv>

namespace tg::itest {

namespace {

constexpr std::size_t read_chunk = 64 * 1024;
constexpr std::size_t max_line = 1024 * 1024;

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

bool has_token(std::string_view list, std::string_view token) {
  while (!list.empty()) {
    const std::size_t comma = list.find(',');
    if (iequals(trim(list.substr(0, comma)), token)) return true;
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return false;
}

std::string_view truncation_reason(const SocketError& error) {
  switch (error.kind()) {
    case SocketError::Kind::timeout: return "timeout";
    case SocketError::Kind::reset: return "reset";
    case SocketError::Kind::closed: return "closed";
    default: return "error";
  }
}

}  // namespace

std::string HttpResponse::describe() const {
  std::string text = version + " " + std::to_string(status) + " " + reason + "\n" + headers.describe();
  text += "\n";
  text += body.substr(0, 2000);
  if (body.size() > 2000) text += "...";
  if (!complete) text += "\n[body truncated: " + truncation + "]";
  return text;
}

HttpClient::HttpClient(std::uint16_t port, std::chrono::milliseconds io_timeout)
    : socket_(port, io_timeout), io_timeout_(io_timeout) {}

void HttpClient::send(std::string_view bytes) { socket_.send_all(bytes, io_timeout_); }

void HttpClient::send_request(const HttpRequest& request) {
  std::string head = request.method + " " + request.target + " HTTP/1.1\r\n";
  if (request.add_host && !request.headers.has("host")) head += "Host: test.local\r\n";
  for (const auto& [name, value] : request.headers.entries()) {
    head += name + ": " + value + "\r\n";
  }
  const bool wants_length = !request.body.empty() || request.method == "POST" || request.method == "PUT";
  if (request.add_content_length && wants_length && !request.headers.has("content-length") &&
      !request.headers.has("transfer-encoding")) {
    head += "Content-Length: " + std::to_string(request.body.size()) + "\r\n";
  }
  head += "\r\n";
  head += request.body;
  send(head);
}

void HttpClient::send_chunk(std::string_view data) {
  if (data.empty()) return;  // an empty chunk would end the body
  char size[32];
  const auto result = std::to_chars(size, size + sizeof size, data.size(), 16);
  std::string frame(size, result.ptr);
  frame += "\r\n";
  frame += data;
  frame += "\r\n";
  send(frame);
}

void HttpClient::send_last_chunk() { send("0\r\n\r\n"); }

bool HttpClient::fill(std::size_t count) {
  while (pending_.size() < count) {
    if (eof_) return false;
    if (socket_.receive_some(pending_, std::max(read_chunk, count - pending_.size()), io_timeout_) == 0) {
      eof_ = true;
      return false;
    }
  }
  return true;
}

std::string HttpClient::take(std::size_t count) {
  std::string out = pending_.substr(0, count);
  pending_.erase(0, count);
  return out;
}

std::string HttpClient::read_line() {
  std::size_t searched = 0;
  for (;;) {
    const std::size_t end = pending_.find("\r\n", searched);
    if (end != std::string::npos) {
      std::string line = pending_.substr(0, end);
      pending_.erase(0, end + 2);
      return line;
    }
    if (pending_.size() > max_line) throw HttpParseError("response line longer than 1 MiB");
    searched = pending_.empty() ? 0 : pending_.size() - 1;
    if (!fill(pending_.size() + 1)) {
      throw SocketError(SocketError::Kind::closed,
                        "connection closed by peer" +
                            (pending_.empty() ? std::string() : " after '" + pending_.substr(0, 200) + "'"));
    }
  }
}

HttpResponse HttpClient::read_response(const ReadOptions& options) {
  HttpResponse response;
  for (;;) {
    const std::string status_line = read_line();
    // "HTTP/1.1 200 OK"
    const std::size_t first = status_line.find(' ');
    if (first == std::string::npos || status_line.rfind("HTTP/", 0) != 0) {
      throw HttpParseError("bad status line: '" + status_line + "'");
    }
    response = HttpResponse{};
    response.version = status_line.substr(0, first);
    const std::size_t second = status_line.find(' ', first + 1);
    const std::string code = status_line.substr(first + 1, second == std::string::npos ? std::string::npos
                                                                                       : second - first - 1);
    const auto parsed = std::from_chars(code.data(), code.data() + code.size(), response.status);
    if (parsed.ec != std::errc() || code.size() != 3) throw HttpParseError("bad status: '" + status_line + "'");
    if (second != std::string::npos) response.reason = status_line.substr(second + 1);

    for (;;) {
      const std::string line = read_line();
      if (line.empty()) break;
      const std::size_t colon = line.find(':');
      if (colon == std::string::npos || colon == 0) throw HttpParseError("bad header line: '" + line + "'");
      response.headers.add(line.substr(0, colon), std::string(trim(std::string_view(line).substr(colon + 1))));
    }
    // Interim responses (100 Continue, ...) are skipped; 101 is final.
    if (response.status >= 100 && response.status < 200 && response.status != 101 && !options.return_interim) continue;
    break;
  }
  read_body(response, options);
  return response;
}

void HttpClient::deliver(HttpResponse& response, const ReadOptions& options, std::string_view data) {
  response.body_size += data.size();
  if (options.on_body) {
    options.on_body(data);
  } else {
    response.body.append(data);
  }
}

void HttpClient::read_body(HttpResponse& response, const ReadOptions& options) {
  const bool no_body = options.head_request || (response.status >= 100 && response.status < 200) ||
                       response.status == 204 || response.status == 304;
  if (no_body) return;

  const auto fail = [&](std::string reason) {
    response.complete = false;
    response.truncation = std::move(reason);
    if (!options.allow_truncated) {
      throw SocketError(SocketError::Kind::closed,
                        "response body ended early (" + response.truncation + ") after " +
                            std::to_string(response.body_size) + " bytes; head was:\n" + response.describe());
    }
  };

  try {
    const auto transfer_encoding = response.headers.get("transfer-encoding");
    const auto content_length = response.headers.get("content-length");
    if (transfer_encoding && has_token(*transfer_encoding, "chunked")) {
      for (;;) {
        std::string size_line = read_line();
        const std::size_t extension = size_line.find(';');
        if (extension != std::string::npos) size_line.resize(extension);
        const std::string_view digits = trim(size_line);
        std::uint64_t size = 0;
        const auto parsed = std::from_chars(digits.data(), digits.data() + digits.size(), size, 16);
        if (parsed.ec != std::errc() || parsed.ptr != digits.data() + digits.size()) {
          throw HttpParseError("bad chunk size line: '" + size_line + "'");
        }
        if (size == 0) {
          while (!read_line().empty()) {
          }  // trailers
          return;
        }
        while (size > 0) {
          if (pending_.empty() && !fill(1)) return fail("closed");
          const std::size_t now = static_cast<std::size_t>(std::min<std::uint64_t>(size, pending_.size()));
          deliver(response, options, std::string_view(pending_).substr(0, now));
          pending_.erase(0, now);
          size -= now;
        }
        if (!fill(2)) return fail("closed");
        if (pending_.compare(0, 2, "\r\n") != 0) throw HttpParseError("chunk not followed by CRLF");
        pending_.erase(0, 2);
      }
    }
    if (content_length) {
      std::uint64_t left = 0;
      const auto parsed = std::from_chars(content_length->data(),
                                          content_length->data() + content_length->size(), left);
      if (parsed.ec != std::errc()) throw HttpParseError("bad Content-Length: '" + *content_length + "'");
      while (left > 0) {
        if (pending_.empty() && !fill(1)) return fail("closed");
        const std::size_t now = static_cast<std::size_t>(std::min<std::uint64_t>(left, pending_.size()));
        deliver(response, options, std::string_view(pending_).substr(0, now));
        pending_.erase(0, now);
        left -= now;
      }
      return;
    }
    // Neither: the body runs until the server closes.
    for (;;) {
      if (pending_.empty() && !fill(1)) return;
      deliver(response, options, pending_);
      pending_.clear();
    }
  } catch (const SocketError& error) {
    fail(std::string(truncation_reason(error)));
  }
}

HttpResponse HttpClient::request(const HttpRequest& request, const ReadOptions& options) {
  send_request(request);
  ReadOptions effective = options;
  if (request.method == "HEAD") effective.head_request = true;
  return read_response(effective);
}

HttpResponse HttpClient::get(std::string target, HeaderList headers) {
  HttpRequest request;
  request.target = std::move(target);
  request.headers = std::move(headers);
  return this->request(request);
}

HttpResponse HttpClient::post(std::string target, std::string body, HeaderList headers) {
  HttpRequest request;
  request.method = "POST";
  request.target = std::move(target);
  request.headers = std::move(headers);
  request.body = std::move(body);
  return this->request(request);
}

bool HttpClient::wait_for_close(std::chrono::milliseconds timeout) {
  if (eof_) return true;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    try {
      if (socket_.receive_some(pending_, read_chunk, left) == 0) {
        eof_ = true;
        return true;
      }
    } catch (const SocketError& error) {
      if (error.kind() == SocketError::Kind::timeout) return false;
      eof_ = true;  // reset or another error: the connection is gone
      return true;
    }
  }
}

HttpResponse http_get(std::uint16_t port, std::string target, HeaderList headers,
                      std::chrono::milliseconds io_timeout) {
  HttpClient client(port, io_timeout);
  return client.get(std::move(target), std::move(headers));
}

}  // namespace tg::itest
