// When an assertion fails (or a test throws), print the log of every
// tg-control the test has running, once per test case.
#include "control/support/control_process.hpp"

#define CATCH_CONFIG_EXTERNAL_INTERFACES  // listener API
#include <catch2/catch.hpp>

#include <iostream>

namespace {

class ControlLogOnFailure : public Catch::TestEventListenerBase {
 public:
  using TestEventListenerBase::TestEventListenerBase;

  void testCaseStarting(const Catch::TestCaseInfo& info) override {
    TestEventListenerBase::testCaseStarting(info);
    printed_ = false;
  }

  bool assertionEnded(const Catch::AssertionStats& stats) override {
    if (!stats.assertionResult.succeeded() && !printed_) {
      const std::string logs = tg::itest::describe_live_controls();
      if (!logs.empty()) {
        printed_ = true;
        std::cerr << "\n==== tg-control logs at the first failure of this test ====\n" << logs << std::flush;
      }
    }
    return TestEventListenerBase::assertionEnded(stats);
  }

 private:
  bool printed_ = false;
};

}  // namespace

CATCH_REGISTER_LISTENER(ControlLogOnFailure)
