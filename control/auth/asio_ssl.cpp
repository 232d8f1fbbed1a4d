// Asio's SSL support compiled once (BOOST_ASIO_SEPARATE_COMPILATION; the rest
// of Asio and Beast is in tg_asio). Only tg-control makes TLS connections.
#include <boost/asio/ssl/impl/src.hpp>
