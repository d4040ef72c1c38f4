// Tracks two events, previews them back and deletes one, with the C++ stubs that
// `make stubs-cpp` generates from proto/ (build and run: `make example-cpp ARGS="TARGET [SCOPE]"`).
//
//   example [TARGET [SCOPE]]   TARGET defaults to $TRACKSTORE_TARGET or localhost:50051
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <string>

#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/time_util.h>
#include <grpcpp/grpcpp.h>

#include "trackstore/v1/trackevents.grpc.pb.h"

namespace v1 = trackstore::v1;

namespace {

void AddEvent(v1::TrackRequest& request, const std::string& device, const std::string& type,
              const std::string& payload_json) {
  v1::TrackEvent* event = request.add_events();
  event->set_device_id(device);
  event->set_event_type(type);
  event->set_payload_json(payload_json);
  *event->mutable_event_time() = google::protobuf::util::TimeUtil::GetCurrentTime();
}

// A context per call: a deadline applies to one call, and a context serves one call only.
std::unique_ptr<grpc::ClientContext> WithDeadline() {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  return context;
}

bool Failed(const char* call, const grpc::Status& status) {
  if (status.ok()) return false;
  std::cerr << "example failed: " << call << ": code " << status.error_code() << ": "
            << status.error_message() << "\n";
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  const char* env_target = std::getenv("TRACKSTORE_TARGET");
  std::string target = argc > 1 ? argv[1] : env_target ? env_target : "localhost:50051";
  std::string scope = argc > 2 ? argv[2] : "examples";
  auto stub = v1::TrackEventsService::NewStub(
      grpc::CreateChannel(target, grpc::InsecureChannelCredentials()));
  std::string device = "cpp-example-" + std::to_string(
      std::chrono::system_clock::now().time_since_epoch().count());

  v1::TrackRequest track;
  track.set_scope(scope);
  AddEvent(track, device, "pageview", R"({"Path": "/home"})");
  AddEvent(track, device, "purchase", R"({"Sku": "sku-1", "Price": 9.5})");
  v1::TrackResponse tracked;
  if (Failed("Track", stub->Track(WithDeadline().get(), track, &tracked))) return 1;
  std::cout << "tracked";
  for (const auto& id : tracked.track_ids()) std::cout << " " << id;
  std::cout << "\n";

  v1::PreviewRequest preview_request;
  preview_request.set_scope(scope);
  preview_request.set_query("Events | where DeviceId == '" + device +
                            "' | project TrackId, EventType, Payload");
  v1::PreviewResponse preview;
  if (Failed("Preview", stub->Preview(WithDeadline().get(), preview_request, &preview))) return 1;
  for (const auto& item : preview.items()) {
    std::string row;
    google::protobuf::util::MessageToJsonString(item, &row);
    std::cout << "previewed " << row << "\n";
  }
  if (preview.count() != 2) {
    std::cerr << "example failed: Preview returned " << preview.count()
              << " events, not the 2 tracked\n";
    return 1;
  }

  v1::DeleteRequest delete_request;
  delete_request.set_scope(scope);
  delete_request.set_track_id(tracked.track_ids(0));
  v1::DeleteResponse deleted;
  if (Failed("Delete", stub->Delete(WithDeadline().get(), delete_request, &deleted))) return 1;
  std::cout << "deleted " << deleted.track_id() << "\n";
  return 0;
}
