// Phase 4: admission (docs/life-of-a-request.md). Authentication, rate limits
// and concurrency limits are AdmissionGates registered on the worker; with
// none registered (the default) every request is admitted.
#include "pipeline/phases.hpp"

namespace tg::proxy {

Step admit_gates(PhaseInput& in) {
  for (AdmissionGate* gate : in.gates) {
    const Step step = gate->admit(in);
    if (step.kind != Step::Kind::proceed) return step;
  }
  return Step::proceed();
}

}  // namespace tg::proxy
