// The study's library parts (ns/eval/study.h, svg_plot.h) and the child processes it runs its steps in
// (ns/core/child_process.h). The whole study runs in demo_cli_test.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

#include "ns/core/child_process.h"
#include "ns/core/error.h"
#include "ns/eval/study.h"
#include "ns/eval/svg_plot.h"
#include "support/fixtures.h"

namespace ns {
namespace {

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

TEST(ChildProcess, SeparatesOutputFromTheLog) {
  test::TempDir dir;
  core::run_child({.program = "/bin/sh",
                   .args = {"-c", "echo result; echo progress >&2"},
                   .stdout_file = dir.file("out.txt"),
                   .log_file = dir.file("step.log")});
  EXPECT_EQ(read_text(dir.file("out.txt")), "result\n");
  const std::string log = read_text(dir.file("step.log"));
  EXPECT_NE(log.find("$ sh -c"), std::string::npos) << log;  // the command line first
  EXPECT_NE(log.find("progress\n"), std::string::npos) << log;
}

TEST(ChildProcess, AFailedStepNamesItsStatusWhatItSaidAndItsLog) {
  test::TempDir dir;
  try {
    core::run_child({.program = "/bin/sh", .args = {"-c", "echo 'the input is bad' >&2; exit 3"},
                     .log_file = dir.file("step.log")});
    FAIL() << "a failing step must throw";
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("exit status 3"), std::string::npos) << what;
    EXPECT_NE(what.find("the input is bad"), std::string::npos) << what;
    EXPECT_NE(what.find(dir.file("step.log")), std::string::npos) << what;
  }
  EXPECT_THROW(core::run_child({.program = dir.file("missing"), .args = {}, .log_file = dir.file("m.log")}), Error);
  EXPECT_THROW(core::run_child({.program = "/bin/sh", .args = {"-c", "kill -9 $$"}, .log_file = dir.file("k.log")}),
               Error);
}

TEST(Study, NeedsAProgramToRunItsSteps) {
  eval::StudyOptions options;  // no program
  try {
    eval::run_study(options);
    FAIL() << "a study without a program must throw";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::invalid_argument);
  }
}

TEST(SvgPlot, DrawsTheSeriesAndRefusesMismatchedOnes) {
  const std::string svg = eval::line_plot_svg({.title = "PSNR", .x_axis = "frame", .y_axis = "dB"},
                                              {{.name = "bicubic", .x = {0, 1, 2}, .y = {28.0, 28.5, 29.0}}});
  EXPECT_EQ(svg.rfind("<svg", 0), 0u);
  EXPECT_NE(svg.find("bicubic"), std::string::npos);
  EXPECT_NE(svg.find("</svg>"), std::string::npos);
  EXPECT_THROW(eval::line_plot_svg({}, {{.name = "bad", .x = {0, 1}, .y = {1}}}), Error);
  EXPECT_THROW(eval::line_plot_svg({}, {{.name = "empty"}}), Error);
}

}  // namespace
}  // namespace ns
