#include "server/request.h"

#include <capnp/serialize.h>
#include <fmt/format.h>
#include <kj/exception.h>

#include "server/protocol.capnp.h"

namespace server {
namespace {

std::string Copy(capnp::Text::Reader t) { return std::string(t.begin(), t.size()); }

}  // namespace

ledger::Status DecodeRequest(kj::ArrayPtr<const capnp::word> frame, const FrameLimits& limits,
                             size_t max_commands, DecodedRequest* out) {
  *out = DecodedRequest();
  try {
    capnp::FlatArrayMessageReader message(
        frame, FrameReaderOptions(frame.size() * sizeof(capnp::word), limits));
    const auto req = message.getRoot<wire::Request>();
    out->id = req.getId();
    if (req.hasToken()) out->token = Copy(req.getToken());
    out->forwarded = req.getForwarded();
    switch (req.which()) {
      case wire::Request::SUBMIT: {
        out->kind = DecodedRequest::Kind::kSubmit;
        const auto list = req.getSubmit();
        out->command_count = list.size();
        if (list.size() <= max_commands) {
          out->commands.reserve(list.size());
          for (const auto text : list) out->commands.push_back(Copy(text));
        }
        break;
      }
      case wire::Request::CHECK: {
        out->kind = DecodedRequest::Kind::kCheck;
        const auto c = req.getCheck();
        out->tenant = Copy(c.getTenant());
        out->user = Copy(c.getUser());
        out->product = Copy(c.getProduct());
        out->at = Copy(c.getAt());
        break;
      }
      case wire::Request::STATE:
        out->kind = DecodedRequest::Kind::kState;
        out->tenant = Copy(req.getState().getTenant());
        break;
      case wire::Request::READ_EVENTS: {
        out->kind = DecodedRequest::Kind::kReadEvents;
        const auto r = req.getReadEvents();
        out->tenant = Copy(r.getTenant());
        out->from = r.getFrom();
        out->follow = r.getFollow();
        out->limit = r.getLimit();
        break;
      }
      case wire::Request::HEALTH:
        out->kind = DecodedRequest::Kind::kHealth;
        break;
      case wire::Request::BACKUP:
        out->kind = DecodedRequest::Kind::kBackup;
        break;
      case wire::Request::LEASE: {
        out->kind = DecodedRequest::Kind::kLease;
        const auto l = req.getLease();
        out->tenant = Copy(l.getTenant());
        out->actor = Copy(l.getActor());
        out->command_id = Copy(l.getId());
        switch (l.which()) {
          case wire::LeaseRequest::CHECKOUT: {
            const auto c = l.getCheckout();
            out->lease_type = "checkout";
            out->subscription = Copy(c.getSubscription());
            out->user = Copy(c.getUser());
            out->device = Copy(c.getDevice());
            break;
          }
          case wire::LeaseRequest::HEARTBEAT:
            out->lease_type = "heartbeat";
            out->lease = Copy(l.getHeartbeat());
            break;
          case wire::LeaseRequest::CHECKIN:
            out->lease_type = "checkin";
            out->lease = Copy(l.getCheckin());
            break;
          default:
            break;  // a newer client's operation: lease_type stays empty
        }
        break;
      }
      default:
        out->kind = DecodedRequest::Kind::kUnknown;  // a newer client's request
        break;
    }
  } catch (const kj::Exception& e) {
    return ledger::Status::InvalidArgument(
        fmt::format("frame: malformed message ({})", e.getDescription().cStr()));
  }
  return ledger::Status::OK();
}

}  // namespace server
