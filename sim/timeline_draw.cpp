// The timeline picture: one drawing function, rendered on a cairo SVG
// surface and on an image surface saved as PNG, so the two never differ.
#include "sim/report.h"

#include <cairo-svg.h>
#include <cairo.h>

#include <algorithm>
#include <cmath>
#include <string>

namespace reflex::sim {

namespace {

struct Rgb {
  double r, g, b;
};
Rgb hex(unsigned v) { return {((v >> 16) & 0xff) / 255.0, ((v >> 8) & 0xff) / 255.0, (v & 0xff) / 255.0}; }

// Fixed colours: the browser test looks for them in the plot area.
constexpr unsigned kAttack = 0xd62728, kAttackSent = 0xf4a3a3, kDropped = 0x7f7f7f, kSymptom = 0xff7f0e,
                   kAction = 0x1f77b4, kRules = 0x9467bd, kShade = 0xfde4e4, kGoodput = 0x2ca02c;
constexpr unsigned kBenign[] = {0x2ca02c, 0x17becf, 0x8c564b, 0xbcbd22, 0x1f9e89};

constexpr double kWidth = 1400, kHeader = 64, kPanel = 340, kLeft = 80, kRight = 30;

void color(cairo_t* cr, unsigned c, double a = 1) {
  Rgb x = hex(c);
  cairo_set_source_rgba(cr, x.r, x.g, x.b, a);
}

void text(cairo_t* cr, double x, double y, const std::string& s, double size = 12, bool bold = false) {
  cairo_select_font_face(cr, "DejaVu Sans", CAIRO_FONT_SLANT_NORMAL, bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
  cairo_set_font_size(cr, size);
  cairo_move_to(cr, x, y);
  cairo_show_text(cr, s.c_str());
}

std::string short_rate(double v) {
  char b[32];
  if (v >= 1e6)
    std::snprintf(b, sizeof(b), "%gM", v / 1e6);
  else if (v >= 1e3)
    std::snprintf(b, sizeof(b), "%gk", v / 1e3);
  else
    std::snprintf(b, sizeof(b), "%g", v);
  return b;
}

struct Axis {
  double x0, x1, t_max;
  double x(double t) const { return x0 + (x1 - x0) * std::clamp(t / t_max, 0.0, 1.0); }
};

void legend(cairo_t* cr, const Report& r) {
  text(cr, 20, 26, "reflex-sim: " + r.scenario->name, 18, true);
  double x = 20, y = 50;
  auto item = [&](unsigned c, const std::string& label, bool dashed = false) {
    color(cr, c);
    cairo_set_line_width(cr, 3);
    if (dashed) {
      double d[] = {6, 4};
      cairo_set_dash(cr, d, 2, 0);
    }
    cairo_move_to(cr, x, y - 4);
    cairo_line_to(cr, x + 24, y - 4);
    cairo_stroke(cr);
    cairo_set_dash(cr, nullptr, 0, 0);
    color(cr, 0x222222);
    text(cr, x + 30, y, label, 12);
    cairo_text_extents_t ext;
    cairo_text_extents(cr, label.c_str(), &ext);
    x += 30 + ext.x_advance + 24;
  };
  item(kAttackSent, "attack sent (pps)", true);
  item(kAttack, "attack reaching the victim");
  if (!r.nodes.empty() && !r.nodes.front().runs.empty()) {
    const auto& classes = r.nodes.front().runs.front().classes;
    int b = 0;
    for (std::size_t c = 1; c < classes.size(); ++c)
      if (classes[c].cls == TrafficClass::benign) item(kBenign[b++ % 5], classes[c].name + " (benign)");
  }
  item(kDropped, "guard drops");
  item(kSymptom, "symptom");
  item(kAction, "action");
  item(kRules, "rules in force");
}

void panel(cairo_t* cr, const NodeRuns& n, double top, double t_max) {
  const RunData& d = n.runs.front();
  RateSeries s = rate_series(d);
  Axis ax{kLeft, kWidth - kRight, t_max};
  const double py0 = top + 28, py1 = top + 200;  // traffic plot, log scale
  const double gy0 = top + 212, gy1 = top + 252;  // benign goodput strip
  const double ly0 = top + 262, ly1 = top + 306;  // events and rules lane

  color(cr, 0x222222);
  std::string title = std::string(to_string(n.node)) + (n.node == NodeKind::reflex      ? ": reflexd run (the loop)"
                                                        : n.node == NodeKind::threshold ? ": fixed per-source threshold"
                                                                                        : ": no reflex");
  if (!d.attach_mode.empty() && d.attach_mode != "none") title += "  [XDP " + d.attach_mode + "]";
  if (!d.error.empty()) title += "  (run failed: " + d.error.substr(0, 80) + ")";
  text(cr, kLeft, top + 18, title, 14, true);

  // Attack phases, shaded across all three strips.
  color(cr, kShade);
  for (auto [on, off] : d.attack_windows) {
    double a = ax.x(static_cast<double>(on) / 1e9), b = ax.x(static_cast<double>(off) / 1e9);
    cairo_rectangle(cr, a, py0, std::max(1.0, b - a), ly1 - py0);
  }
  cairo_fill(cr);
  if (d.surge_window) {  // a benign surge (flash crowd): shaded green
    color(cr, 0xe2f3e2);
    double a = ax.x(static_cast<double>(d.surge_window->first) / 1e9), b = ax.x(static_cast<double>(d.surge_window->second) / 1e9);
    cairo_rectangle(cr, a, py0, std::max(1.0, b - a), ly1 - py0);
    cairo_fill(cr);
  }

  // Log-scale y axis for packet rates.
  double vmax = 100;
  for (double v : s.attack_sent) vmax = std::max(vmax, v);
  for (const auto& c : s.arrived)
    for (double v : c) vmax = std::max(vmax, v);
  const double lmin = 1, lmax = std::ceil(std::log10(vmax * 1.05));
  auto y = [&](double v) { return py1 - (py1 - py0) * (std::log10(std::max(v, 10.0)) - lmin) / (lmax - lmin); };
  cairo_set_line_width(cr, 1);
  for (double l = lmin; l <= lmax; ++l) {
    color(cr, 0xdddddd);
    cairo_move_to(cr, ax.x0, y(std::pow(10, l)));
    cairo_line_to(cr, ax.x1, y(std::pow(10, l)));
    cairo_stroke(cr);
    color(cr, 0x555555);
    text(cr, 10, y(std::pow(10, l)) + 4, short_rate(std::pow(10, l)) + " pps", 10);
  }
  color(cr, 0x999999);
  cairo_rectangle(cr, ax.x0, py0, ax.x1 - ax.x0, py1 - py0);
  cairo_stroke(cr);

  auto line = [&](const std::vector<double>& v, unsigned c, double width, bool dashed, auto ypos) {
    if (v.empty()) return;
    color(cr, c);
    cairo_set_line_width(cr, width);
    if (dashed) {
      double dash[] = {6, 4};
      cairo_set_dash(cr, dash, 2, 0);
    }
    bool pen = false;
    for (std::size_t i = 0; i < v.size() && i < s.t_s.size(); ++i) {
      if (v[i] < 0) {
        pen = false;
        continue;
      }
      double px = ax.x(s.t_s[i]), pv = ypos(v[i]);
      if (!pen)
        cairo_move_to(cr, px, pv);
      else
        cairo_line_to(cr, px, pv);
      pen = true;
    }
    cairo_stroke(cr);
    cairo_set_dash(cr, nullptr, 0, 0);
  };
  line(s.attack_sent, kAttackSent, 2, true, y);
  line(s.guard_dropped, kDropped, 1.2, false, y);
  int b = 0;
  for (std::size_t c = 1; c < d.classes.size(); ++c) {
    if (d.classes[c].cls == TrafficClass::attack)
      line(s.arrived[c], kAttack, 2.5, false, y);
    else
      line(s.arrived[c], kBenign[b++ % 5], 2.5, false, y);
  }

  // Benign goodput, 0..100% of what the clients offered.
  color(cr, 0x999999);
  cairo_set_line_width(cr, 1);
  cairo_rectangle(cr, ax.x0, gy0, ax.x1 - ax.x0, gy1 - gy0);
  cairo_stroke(cr);
  color(cr, 0x555555);
  text(cr, 10, gy0 + 10, "goodput", 10);
  text(cr, 10, gy1, "0-100%", 10);
  line(s.benign_goodput, kGoodput, 2, false, [&](double v) { return gy1 - (gy1 - gy0) * std::clamp(v, 0.0, 1.0); });

  // Rules in force (step, scaled to the panel's maximum), then events.
  double rmax = 1;
  for (double v : s.rules) rmax = std::max(rmax, v);
  color(cr, kRules, 0.35);
  cairo_move_to(cr, ax.x0, ly1);
  for (std::size_t i = 0; i < s.rules.size(); ++i) cairo_line_to(cr, ax.x(s.t_s[i]), ly1 - (ly1 - ly0) * 0.6 * s.rules[i] / rmax);
  cairo_line_to(cr, ax.x(s.t_s.empty() ? 0 : s.t_s.back()), ly1);
  cairo_close_path(cr);
  cairo_fill(cr);
  color(cr, 0x555555);
  text(cr, 10, ly0 + 10, "events", 10);
  text(cr, 10, ly1, "rules<=" + short_rate(rmax), 10);
  double last_label[3] = {-1e9, -1e9, -1e9};
  for (const auto& e : d.events) {
    int row;
    unsigned c;
    if (e.lane == "symptom") {
      row = 0;
      c = kSymptom;
    } else if (e.lane == "action") {
      row = 1;
      c = kAction;
    } else if (e.lane == "scenario" && (e.kind == "kill" || e.kind == "restart" || e.kind == "interrupted")) {
      row = 2;
      c = 0x222222;
    } else {
      continue;
    }
    double px = ax.x(static_cast<double>(e.t_ns) / 1e9), pyy = ly0 + 8 + row * 14;
    color(cr, c);
    if (row == 0) {
      cairo_move_to(cr, px, pyy - 5);
      cairo_line_to(cr, px + 5, pyy + 4);
      cairo_line_to(cr, px - 5, pyy + 4);
      cairo_close_path(cr);
    } else {
      cairo_rectangle(cr, px - 4, pyy - 4, 8, 8);
    }
    cairo_fill(cr);
    cairo_set_line_width(cr, 1);
    cairo_move_to(cr, px, py0);
    cairo_line_to(cr, px, py1);
    color(cr, c, 0.5);
    cairo_stroke(cr);
    if (px - last_label[row] > 170) {
      color(cr, c);
      std::string label = (e.kind == e.lane ? "" : e.kind + " ") + e.subject;
      if (label.size() > 28) label = label.substr(0, 27) + "…";
      text(cr, px + 7, pyy + 4, label, 10);
      last_label[row] = px;
    }
  }

  // Time axis.
  color(cr, 0x555555);
  double step = t_max <= 20 ? 1 : t_max <= 60 ? 5 : t_max <= 180 ? 10 : 30;
  for (double t = 0; t <= t_max + 1e-9; t += step) {
    cairo_move_to(cr, ax.x(t), ly1);
    cairo_line_to(cr, ax.x(t), ly1 + 4);
    cairo_set_line_width(cr, 1);
    cairo_stroke(cr);
    char lab[16];
    std::snprintf(lab, sizeof(lab), "%gs", t);
    text(cr, ax.x(t) - 8, ly1 + 16, lab, 10);
  }
}

void draw(cairo_t* cr, const Report& r, double height) {
  color(cr, 0xffffff);
  cairo_rectangle(cr, 0, 0, kWidth, height);
  cairo_fill(cr);
  legend(cr, r);
  double t_max = 1;
  for (const auto& n : r.nodes)
    if (!n.runs.empty()) t_max = std::max(t_max, static_cast<double>(n.runs.front().end_ns) / 1e9);
  double top = kHeader;
  for (const auto& n : r.nodes) {
    if (n.runs.empty()) continue;
    panel(cr, n, top, std::ceil(t_max));
    top += kPanel;
  }
}

}  // namespace

Status draw_timeline(const Report& r, const std::string& svg_path, const std::string& png_path) {
  std::size_t panels = 0;
  for (const auto& n : r.nodes) panels += n.runs.empty() ? 0 : 1;
  const double height = kHeader + kPanel * static_cast<double>(std::max<std::size_t>(1, panels));
  cairo_surface_t* svg = cairo_svg_surface_create(svg_path.c_str(), kWidth, height);
  if (cairo_surface_status(svg) != CAIRO_STATUS_SUCCESS) {
    cairo_surface_destroy(svg);
    return make_error("create " + svg_path);
  }
  cairo_t* cr = cairo_create(svg);
  draw(cr, r, height);
  cairo_destroy(cr);
  cairo_surface_finish(svg);
  cairo_surface_destroy(svg);

  cairo_surface_t* png = cairo_image_surface_create(CAIRO_FORMAT_RGB24, static_cast<int>(kWidth), static_cast<int>(height));
  cr = cairo_create(png);
  draw(cr, r, height);
  cairo_destroy(cr);
  auto st = cairo_surface_write_to_png(png, png_path.c_str());
  cairo_surface_destroy(png);
  if (st != CAIRO_STATUS_SUCCESS) return make_error("write " + png_path + ": " + cairo_status_to_string(st));
  return ok();
}

}  // namespace reflex::sim
