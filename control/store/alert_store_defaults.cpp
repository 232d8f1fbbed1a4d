// Store's alerting calls for stores that keep no alerts (test doubles of
// other parts): they throw, as the telemetry calls do.
#include "store/store.hpp"

#include <stdexcept>

namespace tg::control {

LoadedAlerts Store::load_alerts() { throw std::logic_error("this store keeps no alerts"); }
std::vector<std::string> Store::list_alerts(const AlertQuery&) { throw std::logic_error("this store keeps no alerts"); }
std::optional<std::string> Store::get_alert(std::uint64_t) { throw std::logic_error("this store keeps no alerts"); }
std::size_t Store::delete_alerts_before(std::int64_t, std::size_t) {
  throw std::logic_error("this store keeps no alerts");
}

}  // namespace tg::control
