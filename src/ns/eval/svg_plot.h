// ns/eval: small SVG charts for reports: lines (x, y series) and bars. Axes get round ticks; the SVG is self-contained
// (no scripts, no external fonts), so it shows in browsers, GitHub and image viewers.
#pragma once

#include <string>
#include <vector>

namespace ns::eval {

struct PlotSeries {
  std::string name;
  std::vector<double> x;
  std::vector<double> y;
  bool markers = false;  // a dot at every point (for sparse series)
};

struct PlotLabels {
  std::string title;
  std::string x_axis;
  std::string y_axis;
};

// Throws ns::Error invalid_argument when a series' x and y differ in length or nothing has a finite point.
std::string line_plot_svg(const PlotLabels& labels, const std::vector<PlotSeries>& series);

struct PlotBar {
  std::string name;
  double value = 0;
  std::string note;  // printed above the bar (e.g. "estimate")
};
std::string bar_plot_svg(const PlotLabels& labels, const std::vector<PlotBar>& bars);

}  // namespace ns::eval
