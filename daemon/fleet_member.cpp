#include "daemon/fleet_member.h"

#include "api/time_format.h"
#include "common/log.h"

#include <boost/asio/post.hpp>
#include <boost/json.hpp>

namespace reflex::daemon {
namespace {

std::shared_ptr<spdlog::logger> logger() {
  static auto l = stage_logger("fleet");
  return l;
}

}  // namespace

FleetMember::FleetMember(std::string id, Loop& loop, const Clock& clock, const plan::PolicyStore& policies,
                         Recorder& recorder)
    : id_(std::move(id)),
      loop_(loop),
      clock_(clock),
      policies_(policies),
      recorder_(recorder) {}

Result<std::unique_ptr<FleetMember>> FleetMember::start(const fleet::FleetConfig& cfg,
                                                        boost::asio::any_io_executor loop_ex, Loop& loop,
                                                        const Clock& clock, const plan::PolicyStore& policies,
                                                        Recorder& recorder) {
  const std::string id = fleet::effective_node_id(cfg);
  std::unique_ptr<FleetMember> m(new FleetMember(id, loop, clock, policies, recorder));
  auto opts = fleet::NatsLinkOptions::from(cfg, id);
  FleetMember* self = m.get();
  // The link calls back on loop_ex (the loop's thread); the member outlives
  // the link, which it destroys first.
  auto link = fleet::NatsLink::start(
      loop_ex, std::move(opts), [self](fleet::Inbound in) { self->on_message(in); },
      [self](const fleet::LinkStatus& s) { self->on_state(s); });
  if (!link) return make_error("fleet: " + link.error().what, link.error().hint);
  m->link_ = std::move(*link);
  m->node_ = std::make_unique<fleet::FleetNode>(fleet::FleetNodeOptions::from(cfg, id, api::wall_now_ns()),
                                                m->link_.get(), &recorder);

  LoopHooks h;
  h.symptom_events = [self](TimeNs now, std::span<const Symptom> local) { return self->node_->symptom_events(now, local); };
  h.symptoms = [self](SymptomFill& out) { self->node_->active(out); };
  h.planned = [self](const Plan& plan, std::span<const Symptom> symptoms) { self->node_->planned(plan, symptoms); };
  h.outcomes = [self](std::span<const Outcome> outs, TimeNs now) { self->node_->outcomes(outs, now, api::wall_now_ns()); };
  loop.set_hooks(std::move(h));
  logger()->info("fleet: node {} joining {} (subjects {}.v1.verdict.*)", id, cfg.servers.empty() ? "?" : cfg.servers.front(),
                 cfg.subject_prefix);
  return m;
}

FleetMember::~FleetMember() { stop(); }

void FleetMember::stop() {
  loop_.set_hooks({});
  link_.reset();  // flushes briefly, closes, joins its worker
}

void FleetMember::on_message(const fleet::Inbound& m) {
  const auto set = policies_.current();
  const plan::Guardrails guardrails = set ? set->global.guardrails : plan::Guardrails{};
  if (!node_) return;
  node_->receive(m, clock_.now_ns(), api::wall_now_ns(), guardrails);
}

void FleetMember::on_state(const fleet::LinkStatus& s) {
  if (s.state == last_state_) return;
  last_state_ = s.state;
  const std::string state(fleet::to_string(s.state));
  if (s.degraded()) logger()->warn("fleet link {}: {}", state, s.reason);
  else logger()->info("fleet link {}{}", state, s.server.empty() ? "" : " to " + s.server);
  LoopEvent e;
  e.kind = RecordKind::daemon;
  e.ts_ns = clock_.now_ns();
  e.subject = "fleet";
  e.summary = "fleet link " + state + (s.reason.empty() ? std::string() : ": " + s.reason);
  e.body = boost::json::object{{"state", state}, {"reason", s.reason}, {"server", s.server},
                               {"reconnects", s.reconnects}};
  recorder_.record_event(e);
}

boost::json::value FleetMember::status() const {
  const auto s = link_ ? link_->status() : fleet::LinkStatus{};
  const auto& st = node_->stats();
  return boost::json::object{
      {"node", id_},
      {"link", {{"state", std::string(fleet::to_string(s.state))},
                {"degraded", s.degraded()},
                {"reason", s.reason},
                {"server", s.server},
                {"reconnects", s.reconnects},
                {"publish_dropped", s.publish_dropped}}},
      {"verdicts", {{"sent", st.sent}, {"received", st.received}, {"acted_on", st.acted_on},
                    {"refused", st.book.refused_total()}}},
      {"peer_verdicts_active", node_->active().size()},
  };
}

}  // namespace reflex::daemon
