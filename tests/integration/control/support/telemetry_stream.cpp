#include "control/support/telemetry_stream.hpp"

namespace tg::itest {

TelemetryStream::TelemetryStream(const std::string& address, const std::string& token,
                                 std::chrono::milliseconds deadline) {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);  // a connection of its own
  channel_ = grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args);
  stub_ = tenantgate::v1::Telemetry::NewStub(channel_);
  context_.set_deadline(std::chrono::system_clock::now() + deadline);
  if (!token.empty()) context_.AddMetadata("authorization", "Bearer " + token);
  stream_ = stub_->Report(&context_);
}

TelemetryStream::~TelemetryStream() {
  if (!finished_) {
    context_.TryCancel();
    stream_->Finish();
  }
}

bool TelemetryStream::send(const tenantgate::v1::TelemetryBatch& batch) { return stream_->Write(batch); }

std::optional<tenantgate::v1::TelemetryAck> TelemetryStream::read() {
  tenantgate::v1::TelemetryAck ack;
  if (!stream_->Read(&ack)) return std::nullopt;
  return ack;
}

grpc::Status TelemetryStream::finish() {
  if (finished_) return status_;
  stream_->WritesDone();
  tenantgate::v1::TelemetryAck ignored;
  while (stream_->Read(&ignored)) {
  }
  status_ = stream_->Finish();
  finished_ = true;
  return status_;
}

}  // namespace tg::itest
