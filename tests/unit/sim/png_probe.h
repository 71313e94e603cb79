#pragma once
// Test helper: how many pixels of a PNG (a timeline, or a browser's
// screenshot of the report) are close to a given colour, inside a region.
#include <cairo.h>

#include <cstdint>
#include <cstdlib>
#include <string>

namespace reflex::sim::testing {

struct PngColourCount {
  int width = 0, height = 0;
  long pixels = 0;  // matching pixels; -1 if the file could not be read
};

inline PngColourCount count_colour(const std::string& png, std::uint32_t rgb, int tolerance = 24, int x0 = 0,
                                   int y0 = 0, int x1 = 1 << 30, int y1 = 1 << 30) {
  PngColourCount out;
  cairo_surface_t* s = cairo_image_surface_create_from_png(png.c_str());
  if (cairo_surface_status(s) != CAIRO_STATUS_SUCCESS) {
    cairo_surface_destroy(s);
    out.pixels = -1;
    return out;
  }
  cairo_surface_flush(s);
  out.width = cairo_image_surface_get_width(s);
  out.height = cairo_image_surface_get_height(s);
  const int stride = cairo_image_surface_get_stride(s);
  const unsigned char* data = cairo_image_surface_get_data(s);
  const int r = (rgb >> 16) & 0xff, g = (rgb >> 8) & 0xff, b = rgb & 0xff;
  for (int y = std::max(0, y0); y < std::min(out.height, y1); ++y)
    for (int x = std::max(0, x0); x < std::min(out.width, x1); ++x) {
      std::uint32_t px = *reinterpret_cast<const std::uint32_t*>(data + y * stride + x * 4);  // native-endian xRGB
      int pr = (px >> 16) & 0xff, pg = (px >> 8) & 0xff, pb = px & 0xff;
      if (std::abs(pr - r) <= tolerance && std::abs(pg - g) <= tolerance && std::abs(pb - b) <= tolerance) ++out.pixels;
    }
  cairo_surface_destroy(s);
  return out;
}

}  // namespace reflex::sim::testing
