// Tracks two events, previews them back and deletes one, with the Go stubs that
// `make stubs-go` generates from proto/.
//
//	example [TARGET [SCOPE]]   TARGET defaults to $TRACKSTORE_TARGET or localhost:50051
package main

import (
	"context"
	"fmt"
	"os"
	"time"

	trackstorev1 "github.com/trackstore/trackstore/gen/go/trackstore/v1"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

func main() {
	target, scope := argument(1, os.Getenv("TRACKSTORE_TARGET")), argument(2, "examples")
	if target == "" {
		target = "localhost:50051"
	}
	if err := run(target, scope); err != nil {
		fmt.Fprintln(os.Stderr, "example failed:", err)
		os.Exit(1)
	}
}

func argument(position int, fallback string) string {
	if len(os.Args) > position {
		return os.Args[position]
	}
	return fallback
}

func run(target, scope string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := grpc.DialContext(ctx, target, grpc.WithInsecure())
	if err != nil {
		return err
	}
	defer conn.Close()
	client := trackstorev1.NewTrackEventsServiceClient(conn)

	device := fmt.Sprintf("go-example-%d", time.Now().UnixNano())
	tracked, err := client.Track(ctx, &trackstorev1.TrackRequest{Scope: scope, Events: []*trackstorev1.TrackEvent{
		event(device, "pageview", `{"Path": "/home"}`),
		event(device, "purchase", `{"Sku": "sku-1", "Price": 9.5}`),
	}})
	if err != nil {
		return fmt.Errorf("Track: %w", err)
	}
	fmt.Println("tracked", tracked.TrackIds)

	query := fmt.Sprintf("Events | where DeviceId == '%s' | project TrackId, EventType, Payload", device)
	preview, err := client.Preview(ctx, &trackstorev1.PreviewRequest{Scope: scope, Query: query})
	if err != nil {
		return fmt.Errorf("Preview: %w", err)
	}
	for _, item := range preview.Items {
		row, err := protojson.Marshal(item)
		if err != nil {
			return err
		}
		fmt.Println("previewed", string(row))
	}
	if preview.Count != 2 {
		return fmt.Errorf("Preview returned %d events, not the 2 tracked", preview.Count)
	}

	deleted, err := client.Delete(ctx, &trackstorev1.DeleteRequest{Scope: scope, TrackId: tracked.TrackIds[0]})
	if err != nil {
		return fmt.Errorf("Delete: %w", err)
	}
	fmt.Println("deleted", deleted.TrackId)
	return nil
}

func event(device, eventType, payloadJSON string) *trackstorev1.TrackEvent {
	return &trackstorev1.TrackEvent{
		DeviceId:  proto.String(device),
		EventType: proto.String(eventType),
		Payload:   &trackstorev1.TrackEvent_PayloadJson{PayloadJson: payloadJSON},
		EventTime: timestamppb.Now(),
	}
}
