#include "ns/eval/svg_plot.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

#include "ns/core/error.h"

namespace ns::eval {

namespace {

constexpr double kWidth = 760, kHeight = 420;
constexpr double kLeft = 70, kTop = 40, kBottom = 55;  // margins
constexpr double kLegendWidth = 150;                    // right of the plot, for line plots
constexpr const char* kColours[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#7f7f7f"};

std::string escape(const std::string& text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '&': out += "&amp;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string format(const char* pattern, double a, double b = 0, double c = 0, double d = 0) {
  char text[160];
  std::snprintf(text, sizeof text, pattern, a, b, c, d);
  return text;
}

// Round tick positions (1, 2 or 5 times a power of ten) covering [lo, hi].
struct Axis {
  double lo = 0, hi = 1, step = 1;
};

Axis nice_axis(double lo, double hi, int ticks) {
  if (!(hi > lo)) {
    const double pad = std::max(std::abs(lo) * 0.05, 0.5);
    lo -= pad;
    hi += pad;
  }
  const double raw = (hi - lo) / ticks;
  const double power = std::pow(10.0, std::floor(std::log10(raw)));
  double step = power;
  for (double m : {1.0, 2.0, 5.0, 10.0}) {
    step = m * power;
    if (step >= raw) break;
  }
  return {std::floor(lo / step) * step, std::ceil(hi / step) * step, step};
}

std::string tick_text(double value, double step) {
  const int decimals = step >= 1 ? 0 : static_cast<int>(std::ceil(-std::log10(step) - 1e-9));
  char text[32];
  std::snprintf(text, sizeof text, "%.*f", decimals, value);
  return text;
}

class Canvas {
 public:
  Canvas(const PlotLabels& labels, bool legend) : right_(legend ? kLegendWidth : 20) {
    svg_ = format(R"(<svg xmlns="http://www.w3.org/2000/svg" width="%g" height="%g" viewBox="0 0 %g %g" )", kWidth,
                  kHeight, kWidth, kHeight) +
           R"(font-family="sans-serif" font-size="12">)" "\n" +
           format(R"(<rect width="%g" height="%g" fill="white"/>)", kWidth, kHeight) + "\n" +
           text(kLeft, 22, labels.title, "start", 15) +
           text(kLeft + plot_width() / 2, kHeight - 12, labels.x_axis, "middle") +
           format(R"svg(<text transform="translate(18 %g) rotate(-90)" text-anchor="middle">)svg", kTop + plot_height() / 2) +
           escape(labels.y_axis) + "</text>\n";
  }
  double plot_width() const { return kWidth - kLeft - right_; }
  static double plot_height() { return kHeight - kTop - kBottom; }

  static std::string text(double x, double y, const std::string& s, const char* anchor, int size = 12) {
    return format(R"(<text x="%.1f" y="%.1f" font-size="%g" )", x, y, size) + "text-anchor=\"" + anchor + "\">" +
           escape(s) + "</text>\n";
  }
  void add(const std::string& element) { svg_ += element; }
  void y_axis(const Axis& y) {
    for (double v = y.lo; v <= y.hi + y.step * 1e-6; v += y.step) {
      const double py = map_y(v, y);
      add(format(R"(<line x1="%g" y1="%.1f" x2="%g" y2="%.1f" stroke="#ddd"/>)", kLeft, py, kLeft + plot_width(), py) +
          "\n");
      add(text(kLeft - 6, py + 4, tick_text(v, y.step), "end"));
    }
    add(format(R"(<rect x="%g" y="%g" width="%g" height="%g" fill="none" stroke="#333"/>)", kLeft, kTop, plot_width(),
               plot_height()) +
        "\n");
  }
  static double map_y(double v, const Axis& y) { return kTop + plot_height() * (1 - (v - y.lo) / (y.hi - y.lo)); }
  double map_x(double v, const Axis& x) const { return kLeft + plot_width() * (v - x.lo) / (x.hi - x.lo); }
  void legend_entry(int index, const std::string& name, const char* colour) {
    const double y = kTop + 10 + 20 * index;
    const double x = kLeft + plot_width() + 12;
    add(format(R"(<line x1="%g" y1="%g" x2="%g" y2="%g" stroke-width="3" )", x, y, x + 22, y) + "stroke=\"" + colour +
        "\"/>\n");
    add(text(x + 28, y + 4, name, "start"));
  }
  std::string finish() { return svg_ + "</svg>\n"; }

 private:
  double right_;
  std::string svg_;
};

}  // namespace

std::string line_plot_svg(const PlotLabels& labels, const std::vector<PlotSeries>& series) {
  double x_lo = std::numeric_limits<double>::infinity(), x_hi = -x_lo, y_lo = x_lo, y_hi = -x_lo;
  for (const PlotSeries& s : series) {
    if (s.x.size() != s.y.size()) {
      throw Error(ErrorCode::invalid_argument, "plot: series " + s.name + " has " + std::to_string(s.x.size()) +
                                                   " x values and " + std::to_string(s.y.size()) + " y values");
    }
    for (size_t i = 0; i < s.x.size(); ++i) {
      if (!std::isfinite(s.x[i]) || !std::isfinite(s.y[i])) continue;
      x_lo = std::min(x_lo, s.x[i]);
      x_hi = std::max(x_hi, s.x[i]);
      y_lo = std::min(y_lo, s.y[i]);
      y_hi = std::max(y_hi, s.y[i]);
    }
  }
  if (!(x_hi >= x_lo)) throw Error(ErrorCode::invalid_argument, "plot: " + labels.title + ": no points to draw");
  const Axis x = nice_axis(x_lo, x_hi, 8);
  const Axis y = nice_axis(y_lo, y_hi, 6);
  Canvas canvas(labels, /*legend=*/true);
  canvas.y_axis(y);
  for (double v = x.lo; v <= x.hi + x.step * 1e-6; v += x.step) {
    const double px = canvas.map_x(v, x);
    canvas.add(Canvas::text(px, kTop + Canvas::plot_height() + 16, tick_text(v, x.step), "middle"));
  }
  for (size_t k = 0; k < series.size(); ++k) {
    const PlotSeries& s = series[k];
    const char* colour = kColours[k % std::size(kColours)];
    std::string points;
    for (size_t i = 0; i < s.x.size(); ++i) {
      if (!std::isfinite(s.x[i]) || !std::isfinite(s.y[i])) continue;
      points += format("%.1f,%.1f ", canvas.map_x(s.x[i], x), Canvas::map_y(s.y[i], y));
      if (s.markers) {
        canvas.add(format(R"(<circle cx="%.1f" cy="%.1f" r="3.5" )", canvas.map_x(s.x[i], x),
                          Canvas::map_y(s.y[i], y)) +
                   "fill=\"" + colour + "\"/>\n");
      }
    }
    canvas.add("<polyline fill=\"none\" stroke-width=\"1.6\" stroke=\"" + std::string(colour) + "\" points=\"" +
               points + "\"/>\n");
    canvas.legend_entry(static_cast<int>(k), s.name, colour);
  }
  return canvas.finish();
}

std::string bar_plot_svg(const PlotLabels& labels, const std::vector<PlotBar>& bars) {
  if (bars.empty()) throw Error(ErrorCode::invalid_argument, "plot: " + labels.title + ": no bars to draw");
  double hi = 0;
  for (const PlotBar& b : bars) hi = std::max(hi, std::isfinite(b.value) ? b.value : 0.0);
  const Axis y = nice_axis(0, hi > 0 ? hi : 1, 5);
  Canvas canvas(labels, /*legend=*/false);
  canvas.y_axis(y);
  const double slot = canvas.plot_width() / static_cast<double>(bars.size());
  for (size_t k = 0; k < bars.size(); ++k) {
    const PlotBar& b = bars[k];
    const double value = std::isfinite(b.value) ? std::max(b.value, 0.0) : 0.0;
    const double x0 = kLeft + slot * static_cast<double>(k) + slot * 0.2;
    const double top = Canvas::map_y(value, y);
    canvas.add(format(R"(<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" )", x0, top, slot * 0.6,
                      Canvas::map_y(0, y) - top) +
               "fill=\"" + kColours[k % std::size(kColours)] + "\"/>\n");
    const std::string value_text = format(value >= 10 ? "%.0f" : value >= 1 ? "%.2f" : "%.3f", value);
    canvas.add(Canvas::text(x0 + slot * 0.3, top - (b.note.empty() ? 6 : 20), value_text, "middle"));
    if (!b.note.empty()) canvas.add(Canvas::text(x0 + slot * 0.3, top - 6, b.note, "middle", 10));
    canvas.add(Canvas::text(x0 + slot * 0.3, kTop + Canvas::plot_height() + 16, b.name, "middle"));
  }
  return canvas.finish();
}

}  // namespace ns::eval
