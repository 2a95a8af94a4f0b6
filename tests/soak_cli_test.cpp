// neuroscaler soak, briefly: serve under streams good and bad and hostile admin requests (every kind injected at least
// once) survives, stops cleanly, completes every good output, answers every request, and its report says so. CI runs it under the
// sanitizers too, where serve itself is instrumented.
#include <gtest/gtest.h>

#include "support/fixtures.h"

namespace ns {
namespace {

TEST(SoakCli, ServeSurvivesEveryFaultKind) {
  const test::TempDir dir;
  const test::CliResult r =
      test::run_cli({"soak", "--seconds", "8", "--add-every", "0.4", "--burst", "80", "--out", dir.file("soak")});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("# Soak: passed"), std::string::npos) << r.out;
  for (const char* kind : {"| good |", "| corrupt |", "| truncated |", "| stalled |", "| resolution_switch |"}) {
    EXPECT_NE(r.out.find(kind), std::string::npos) << kind << " was not injected:\n" << r.out;
  }
  EXPECT_NE(r.out.find("| 413 |"), std::string::npos) << "no huge request was refused";
  // Every request of the bursts answered (cpp-httplib's listen backlog of 5, raised by the server, refused some).
  EXPECT_EQ(r.out.find("| none |"), std::string::npos) << "requests went unanswered:\n" << r.out;
  EXPECT_NE(test::read_text_file(dir.file("soak/report.md")).find("passed"), std::string::npos);
}

}  // namespace
}  // namespace ns
