// The phase driver: phases 2-5 in order, each a function of its own
// (pipeline/phases.hpp). The connection calls it after reading a head
// (normalise..admit), after a body kept whole has arrived (pick_instance),
// for each retry (pick_instance), and when a suspended request resumes
// (match_route..: the route and instance are chosen again on the current table).
#include "pipeline/phases.hpp"

namespace tg::proxy {

PhaseOutcome run_phases(PhaseInput& in, PhaseId first, PhaseId last) {
  for (auto phase = first; phase <= last; phase = static_cast<PhaseId>(static_cast<std::uint8_t>(phase) + 1)) {
    Step step;
    switch (phase) {
      case PhaseId::normalise: step = normalise(in); break;
      case PhaseId::match_route: step = match_route(in); break;
      case PhaseId::admit: step = admit(in); break;
      case PhaseId::receive_body: continue;  // I/O: the connection's (after admit)
      case PhaseId::pick_instance: step = pick_instance(in); break;
      default: continue;
    }
    if (step.kind != Step::Kind::proceed) return {step, phase};
  }
  return {Step::proceed(), last};
}

}  // namespace tg::proxy
