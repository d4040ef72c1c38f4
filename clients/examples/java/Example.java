// Tracks two events, previews them back and deletes one, with the Java stubs that
// `make stubs-java` generates from proto/ (build and run: `make example-java ARGS="TARGET [SCOPE]"`).
//
//   java -cp ... Example [TARGET [SCOPE]]   TARGET defaults to $TRACKSTORE_TARGET or localhost:50051
import com.google.protobuf.Struct;
import com.google.protobuf.util.JsonFormat;
import com.google.protobuf.util.Timestamps;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.StatusRuntimeException;
import io.trackstore.v1.DeleteRequest;
import io.trackstore.v1.PreviewRequest;
import io.trackstore.v1.PreviewResponse;
import io.trackstore.v1.TrackEvent;
import io.trackstore.v1.TrackEventsServiceGrpc;
import io.trackstore.v1.TrackEventsServiceGrpc.TrackEventsServiceBlockingStub;
import io.trackstore.v1.TrackRequest;
import io.trackstore.v1.TrackResponse;
import java.util.concurrent.TimeUnit;

public final class Example {
  public static void main(String[] args) throws Exception {
    String envTarget = System.getenv("TRACKSTORE_TARGET");
    String target = args.length > 0 ? args[0] : envTarget != null ? envTarget : "localhost:50051";
    String scope = args.length > 1 ? args[1] : "examples";
    ManagedChannel channel = ManagedChannelBuilder.forTarget(target).usePlaintext().build();
    try {
      run(TrackEventsServiceGrpc.newBlockingStub(channel), scope);
    } catch (StatusRuntimeException e) {
      System.err.println("example failed: " + e.getStatus());
      System.exit(1);
    } finally {
      channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
  }

  private static void run(TrackEventsServiceBlockingStub client, String scope) throws Exception {
    String device = "java-example-" + System.nanoTime();
    TrackResponse tracked = deadline(client).track(TrackRequest.newBuilder()
        .setScope(scope)
        .addEvents(event(device, "pageview", "{\"Path\": \"/home\"}"))
        .addEvents(event(device, "purchase", "{\"Sku\": \"sku-1\", \"Price\": 9.5}"))
        .build());
    System.out.println("tracked " + tracked.getTrackIdsList());

    PreviewResponse preview = deadline(client).preview(PreviewRequest.newBuilder()
        .setScope(scope)
        .setQuery("Events | where DeviceId == '" + device + "' | project TrackId, EventType, Payload")
        .build());
    for (Struct item : preview.getItemsList()) {
      System.out.println("previewed " + JsonFormat.printer().omittingInsignificantWhitespace().print(item));
    }
    if (preview.getCount() != 2) {
      System.err.println("example failed: Preview returned " + preview.getCount() + " events, not the 2 tracked");
      System.exit(1);
    }

    String deleted = deadline(client).delete(DeleteRequest.newBuilder()
        .setScope(scope)
        .setTrackId(tracked.getTrackIds(0))
        .build()).getTrackId();
    System.out.println("deleted " + deleted);
  }

  // A deadline starts when it is set, so each call gets a stub with its own.
  private static TrackEventsServiceBlockingStub deadline(TrackEventsServiceBlockingStub client) {
    return client.withDeadlineAfter(30, TimeUnit.SECONDS);
  }

  private static TrackEvent event(String device, String eventType, String payloadJson) {
    return TrackEvent.newBuilder()
        .setDeviceId(device)
        .setEventType(eventType)
        .setPayloadJson(payloadJson)
        .setEventTime(Timestamps.fromMillis(System.currentTimeMillis()))
        .build();
  }
}
