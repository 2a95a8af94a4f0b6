// ns/eval: the study's report (study.h): OUT/report.md (tables and the plots, for people), OUT/report.json (every number,
// for scripts) and OUT/plots/*.svg: PSNR per frame per method, quality against anchor fraction per selection method,
// streams in real time per method.
#pragma once

#include <string>

#include "ns/eval/study.h"

namespace ns::eval {

// Writes the report files; returns the summary table (Markdown) for the terminal. Throws ns::Error io.
std::string write_study_report(const StudyOptions& options, const StudyResult& result);

// NeuroScaler's PSNR minus per-frame SR's, and whether it is within the original's average gap (1.3 dB).
inline constexpr double kOriginalGapDb = 1.3;

}  // namespace ns::eval
