#pragma once
// A probe made of functions: the seam through which sim/ and unit tests feed
// Observations (and failures) into a real Monitor loop without a kernel.

#include <functional>
#include <string>
#include <utility>

#include "monitor/probe.h"

namespace reflex::monitor {

class FunctionProbe : public Probe {
 public:
  using Open = std::function<Status()>;
  using Sample = std::function<Status(TickContext&, Observation&)>;

  FunctionProbe(std::string name, Sample sample, Open open = {})
      : name_(std::move(name)), sample_(std::move(sample)), open_(std::move(open)) {}

  std::string name() const override { return name_; }
  Status open(boost::asio::io_context&) override {
    ++opens_;
    return open_ ? open_() : ok();
  }
  Status sample(TickContext& ctx, Observation& obs) override { return sample_(ctx, obs); }
  void close() override { ++closes_; }

  int opens() const { return opens_; }
  int closes() const { return closes_; }

 private:
  std::string name_;
  Sample sample_;
  Open open_;
  int opens_ = 0, closes_ = 0;
};

}  // namespace reflex::monitor
