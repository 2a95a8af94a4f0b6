#include "ns/eval/study_report.h"

#include <cmath>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "ns/core/atomic_file.h"
#include "ns/core/error.h"
#include "ns/core/machine_info.h"
#include "ns/eval/svg_plot.h"

namespace ns::eval {

namespace fs = std::filesystem;
using Json = nlohmann::ordered_json;

namespace {

const std::vector<std::string> kServerMethods = {"perframe", "selective", "neuroscaler"};
const std::vector<std::string> kCurveMethods = {"uniform", "neuroscaler", "neuroscaler-q", "oracle"};

std::string short_name(const std::string& key) {
  if (key == "perframe") return "per-frame SR";
  if (key == "selective") return "selective SR";
  if (key == "neuroscaler") return "NeuroScaler";
  return key;
}

std::string curve_label(const std::string& method) {
  if (method == "neuroscaler") return "NeuroScaler's estimator";
  if (method == "neuroscaler-q") return "ours (neuroscaler-q)";
  return method;
}

// Streams this machine could serve in real time, estimated from the offline run: seconds of video the method
// processed per second of server wall time (both cores). The live engine's `bench-streams` measures it instead.
double realtime_streams_estimate(const MethodResult& m) {
  return m.server_wall_s > 0 ? m.video_seconds / m.server_wall_s : 0.0;
}

double sr_seconds(const MethodResult& m) {
  for (const auto& [stage, seconds] : m.server_stages_s) {
    if (stage == "sr") return seconds;
  }
  return 0.0;
}

std::string stages_text(const MethodResult& m) {
  std::string text;
  for (const auto& [stage, seconds] : m.server_stages_s) {
    if (seconds < 0.05) continue;
    text += (text.empty() ? "" : ", ") + stage + " " + fmt::format("{:.1f}", seconds);
  }
  return text;
}

// The summary's throughput cell: the live engine's measurement when it ran, else the labelled estimate.
std::string streams_cell(const MethodResult& m) {
  if (m.engine_measured) return fmt::format("{} ({:.2f} stream-eq.)", m.realtime_streams, m.sr_stream_equivalents);
  return fmt::format("{:.3f} (estimate)", realtime_streams_estimate(m));
}

std::string summary_table(const StudyResult& r) {
  const MethodResult& bilinear = r.method("bilinear");
  const MethodResult& bicubic = r.method("bicubic");
  std::string t =
      "| method | PSNR | SSIM Y | vs bilinear | vs bicubic | delivered | SR frames | server s | streams in real time "
      "|\n|---|---|---|---|---|---|---|---|---|\n";
  for (const MethodResult& m : r.methods) {
    const bool server = m.key != "bilinear" && m.key != "bicubic";
    t += fmt::format("| {} | {:.2f} dB | {:.4f} | {:+.2f} dB | {:+.2f} dB | {:.0f} kbps | {} | {} | {} |\n", m.label,
                     m.psnr, m.ssim_y, m.psnr - bilinear.psnr, m.psnr - bicubic.psnr, m.delivered_kbps,
                     server ? std::to_string(m.anchors) : "—",
                     server ? fmt::format("{:.1f}", m.server_wall_s) : "—",
                     server ? streams_cell(m) : "—");
  }
  return t;
}

std::string finetune_line(const char* name, const FinetuneResult& f) {
  if (!f.trained) return fmt::format("- {}: {} ({})\n", name, f.model, f.note);
  return fmt::format(
      "- {}: {} from {}, {} steps in {:.0f} s; validation gain over bicubic {:+.2f} dB before, {:+.2f} dB after\n",
      name, f.model, f.from, f.steps, f.seconds, f.validation_gain_before_db, f.validation_gain_after_db);
}

Json finetune_json(const FinetuneResult& f) {
  return {{"model", f.model},
          {"from", f.from},
          {"trained", f.trained},
          {"note", f.note},
          {"steps", f.steps},
          {"seconds", f.seconds},
          {"validation_gain_before_db", f.validation_gain_before_db},
          {"validation_gain_after_db", f.validation_gain_after_db}};
}

struct GapCheck {
  double gap_db = 0;  // NeuroScaler minus per-frame SR
  bool within = false;
  std::string text;
};

GapCheck gap_check(const StudyResult& r) {
  GapCheck g;
  g.gap_db = r.method("neuroscaler").psnr - r.method("perframe").psnr;
  g.within = g.gap_db >= -kOriginalGapDb;
  if (g.gap_db >= 0) {
    g.text = fmt::format(
        "NeuroScaler is {:.2f} dB above per-frame SR (the original is on average within {:.1f} dB below it). "
        "Per-frame SR's HR video is re-encoded for delivery, while NeuroScaler's viewer rebuilds HR from the "
        "untouched LR stream and the anchor images.",
        g.gap_db, kOriginalGapDb);
  } else if (g.within) {
    g.text = fmt::format("NeuroScaler is {:.2f} dB below per-frame SR: within the original's average of {:.1f} dB.",
                         -g.gap_db, kOriginalGapDb);
  } else {
    g.text = fmt::format(
        "NeuroScaler is {:.2f} dB below per-frame SR: it misses the original's average ({:.1f} dB) by {:.2f} dB.",
        -g.gap_db, kOriginalGapDb, -g.gap_db - kOriginalGapDb);
  }
  return g;
}

void write_plots(const fs::path& dir, const StudyResult& r) {
  std::vector<PlotSeries> frames;
  for (const MethodResult& m : r.methods) {
    if (m.key == "bilinear") continue;  // bicubic is the interpolation line; bilinear is in the tables
    PlotSeries s{short_name(m.key), {}, m.psnr_per_frame, false};
    for (size_t i = 0; i < m.psnr_per_frame.size(); ++i) s.x.push_back(static_cast<double>(i));
    frames.push_back(std::move(s));
  }
  const std::string per_frame =
      line_plot_svg({"PSNR per frame, test segment", "frame", "PSNR (Y, U, V pooled), dB"}, frames);
  core::write_text_atomically(dir / "psnr_per_frame.svg", per_frame, "study");

  std::vector<PlotSeries> curve;
  for (const std::string& method : kCurveMethods) {
    PlotSeries s{curve_label(method), {}, {}, true};
    for (const CurvePoint& p : r.curve) {
      if (p.method != method) continue;
      s.x.push_back(100 * p.fraction);
      s.y.push_back(p.psnr);
    }
    if (!s.x.empty()) curve.push_back(std::move(s));
  }
  const std::string quality = line_plot_svg(
      {"Reuse from ground-truth anchors, first " + std::to_string(r.curve_frames) + " test frames",
       "anchors, % of frames", "PSNR after reuse, dB"},
      curve);
  core::write_text_atomically(dir / "quality_vs_fraction.svg", quality, "study");

  std::vector<PlotBar> bars;
  bool measured = true;
  for (const std::string& key : kServerMethods) {
    const MethodResult& m = r.method(key);
    measured = measured && m.engine_measured;
    bars.push_back(m.engine_measured
                       ? PlotBar{short_name(key), m.sr_stream_equivalents, fmt::format("{} in real time", m.realtime_streams)}
                       : PlotBar{short_name(key), realtime_streams_estimate(m), "estimate"});
  }
  const std::string streams =
      bar_plot_svg({measured ? "SR capacity of the live engine on this machine (bench-streams)"
                             : "Streams in real time on this machine (estimate from the offline run)",
                    "method", measured ? "stream-equivalents" : "streams (estimate)"},
                   bars);
  core::write_text_atomically(dir / "streams_realtime.svg", streams, "study");
}

std::string curve_table(const StudyResult& r, const std::vector<double>& fractions) {
  std::string t = "| selection | ";
  for (double f : fractions) t += fmt::format("{:g} % | ", 100 * f);
  t += "\n|---|";
  for (size_t i = 0; i < fractions.size(); ++i) t += "---|";
  t += "\n";
  for (const std::string& method : kCurveMethods) {
    std::string row = "| " + curve_label(method) + " | ";
    bool any = false;
    for (double f : fractions) {
      const CurvePoint* hit = nullptr;
      for (const CurvePoint& p : r.curve) {
        if (p.method == method && std::abs(p.fraction - f) < 1e-9) hit = &p;
      }
      row += hit ? fmt::format("{:.2f} dB | ", hit->psnr) : "— | ";
      any = any || hit;
    }
    if (any) t += row + "\n";
  }
  return t;
}

std::string markdown(const StudyOptions& o, const StudyResult& r, const GapCheck& gap, const std::string& machine,
                     const std::string& date) {
  std::string md = "# " + o.title + "\n\n";
  md += fmt::format("{} · {}x{} → {}x{}, {} test frames at {:g} fps · {} · total {:.0f} s\n\n", date, r.lr_width,
                    r.lr_height, r.hr_width, r.hr_height, r.test_frames, r.fps, machine, r.wall_s);
  md += "Command: `" + o.command_line + "`\n\n";
  md += "## Summary\n\nPSNR pooled over Y, U and V and SSIM on Y, against the HR reference, mean over the test "
        "frames. *Delivered* is what the viewer downloads: the LR stream itself for bilinear and bicubic, the "
        "re-encoded HR video for the server-side baselines, the LR stream plus anchor images for NeuroScaler. "
        "*Streams in real time*: the live engine (`neuroscaler bench-streams`) replays the test segment as 1, 2, ... "
        "concurrent streams of the method and counts the most that stay in real time (reference §8.10); in brackets "
        "its SR capacity in *stream-equivalents*, the SR work it did in the one-stream run over the work one stream "
        "demands (below 1: even one stream is too much for this machine). Where the engine did not run, an "
        "**estimate** from this offline run: seconds of video per second of server wall time.\n\n";
  md += summary_table(r) + "\n" + gap.text + "\n\n![PSNR per frame](plots/psnr_per_frame.svg)\n\n";
  md += "## Server time per stage (wall seconds)\n\n| method | model | stages | SR per SR frame |\n|---|---|---|---|\n";
  for (const std::string& key : kServerMethods) {
    const MethodResult& m = r.method(key);
    md += fmt::format("| {} | {} ({}) | {} | {:.0f} ms |\n", m.label, m.model, m.sr_precision, stages_text(m),
                      m.anchors ? 1e3 * sr_seconds(m) / static_cast<double>(m.anchors) : 0.0);
  }
  md += "\n![Streams in real time](plots/streams_realtime.svg)\n\n## Content-aware models\n\n";
  md += finetune_line("F=16 (per-frame SR)", r.finetune_f16) + finetune_line("F=32 (selective, NeuroScaler)", r.finetune_f32);
  md += fmt::format(
      "\n## Quality against anchor fraction\n\nAnchors chosen by each method on the first {} test frames, each "
      "anchor the HR reference frame itself (ground truth: the selection compared without the SR model's error), "
      "every other frame rebuilt by reuse; the oracle measures every candidate (reference §3.6).\n\n",
      r.curve_frames);
  md += curve_table(r, o.curve_fractions) + "\n![Quality against anchor fraction](plots/quality_vs_fraction.svg)\n\n";
  md += "## Steps\n\n| step | seconds |\n|---|---|\n";
  for (const StepTime& s : r.steps) md += fmt::format("| {} | {:.1f} |\n", s.name, s.seconds);
  md += "\nLogs of every step: `logs/`; per-frame tables: `frames/`; outputs: `*.webm`, `neuroscaler.mkv` (play "
        "it back with `neuroscaler decode --in neuroscaler.mkv --out hr.mkv`).\n";
  return md;
}

Json method_json(const MethodResult& m, const MethodResult& bilinear, const MethodResult& bicubic) {
  const bool server = !m.server_stages_s.empty();
  Json j = {{"key", m.key},
            {"label", m.label},
            {"model", m.model},
            {"sr_precision", m.sr_precision},
            {"psnr_db", m.psnr},
            {"ssim_y", m.ssim_y},
            {"gain_over_bilinear_db", m.psnr - bilinear.psnr},
            {"gain_over_bicubic_db", m.psnr - bicubic.psnr},
            {"frames", m.frames},
            {"delivered_kbps", m.delivered_kbps},
            {"lr_kbps", m.lr_kbps},
            {"anchor_kbps", m.anchor_kbps},
            {"sr_frames", m.anchors}};
  if (server) {
    Json& stages = j["server_stages_s"];
    for (const auto& [stage, seconds] : m.server_stages_s) stages[stage] = seconds;
    j["server_wall_s"] = m.server_wall_s;
    Json& streams = j["streams_realtime"];
    if (m.engine_measured) {
      streams["engine"] = {{"largest_realtime_streams", m.realtime_streams},
                           {"sr_stream_equivalents", m.sr_stream_equivalents},
                           {"how", "neuroscaler bench-streams on this machine"}};
    }
    streams["estimate"] = {{"value", realtime_streams_estimate(m)},
                           {"how", "seconds of video per second of server wall time in the offline run"}};
  }
  return j;
}

}  // namespace

std::string write_study_report(const StudyOptions& o, const StudyResult& r) {
  const fs::path plots = o.out_dir / "plots";
  std::error_code ec;
  fs::create_directories(plots, ec);
  if (ec) throw Error(ErrorCode::io, "cannot create the plots folder (" + ec.message() + ")", {.file = plots.string()});
  write_plots(plots, r);

  const std::string date = core::utc_now();
  const std::string machine = fmt::format("{}, {} cores, {:.0f} GiB", core::cpu_model(), std::thread::hardware_concurrency(),
                                          core::memory_gib());
  const GapCheck gap = gap_check(r);
  core::write_text_atomically(o.out_dir / "report.md", markdown(o, r, gap, machine, date), "study");

  const MethodResult& bilinear = r.method("bilinear");
  const MethodResult& bicubic = r.method("bicubic");
  Json j;
  j["format"] = "neuroscaler-report";
  j["version"] = 1;
  j["title"] = o.title;
  j["date"] = date;
  j["command"] = o.command_line;
  j["machine"] = {{"cpu", core::cpu_model()},
                  {"cores", std::thread::hardware_concurrency()},
                  {"memory_gib", core::memory_gib()},
                  {"load_average_at_end", core::load_average()}};
  j["content"] = {{"sample", o.sample_dir.string()},
                  {"lr_test", r.lr_test},
                  {"hr_test", r.hr_test},
                  {"lr", {{"width", r.lr_width}, {"height", r.lr_height}}},
                  {"hr", {{"width", r.hr_width}, {"height", r.hr_height}}},
                  {"fps", r.fps},
                  {"test_frames", r.test_frames}};
  j["settings"] = {{"fraction", o.fraction},
                   {"selective_fraction", o.selective_fraction},
                   {"anchor_codec", o.anchor_codec},
                   {"finetune_minutes", o.finetune_minutes}};
  j["finetune"] = {{"f16", finetune_json(r.finetune_f16)}, {"f32", finetune_json(r.finetune_f32)}};
  Json& methods = j["methods"];
  for (const MethodResult& m : r.methods) methods.push_back(method_json(m, bilinear, bicubic));
  j["neuroscaler_vs_perframe"] = {
      {"gap_db", gap.gap_db}, {"within_original_gap", gap.within}, {"original_gap_db", kOriginalGapDb}, {"text", gap.text}};
  Json& curve = j["quality_vs_fraction"];
  curve["anchors"] = "ground truth (the HR reference frames)";
  curve["frames"] = r.curve_frames;
  curve["points"] = Json::array();
  for (const CurvePoint& p : r.curve) curve["points"].push_back({{"method", p.method}, {"fraction", p.fraction}, {"psnr_db", p.psnr}});
  Json& steps = j["steps"];
  for (const StepTime& s : r.steps) steps.push_back({{"name", s.name}, {"seconds", s.seconds}});
  j["wall_s"] = r.wall_s;
  j["plots"] = {"plots/psnr_per_frame.svg", "plots/quality_vs_fraction.svg", "plots/streams_realtime.svg"};
  core::write_text_atomically(o.out_dir / "report.json", j.dump(2) + "\n", "study");
  return summary_table(r) + "\n" + gap.text + "\n";
}

}  // namespace ns::eval
