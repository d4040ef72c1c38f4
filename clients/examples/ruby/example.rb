# Tracks two events, previews them back and deletes one, with the Ruby stubs that
# `make stubs-ruby` generates from proto/ (run it with `make example-ruby ARGS="TARGET [SCOPE]"`).
#
#   ruby -I build/polyglot/ruby example.rb [TARGET [SCOPE]]
#   TARGET defaults to $TRACKSTORE_TARGET or localhost:50051
require 'json'
require 'trackstore/v1/trackevents_services_pb'

def event(device, event_type, payload)
  now = Time.now
  Trackstore::V1::TrackEvent.new(
    device_id: device, event_type: event_type, payload_json: JSON.generate(payload),
    event_time: Google::Protobuf::Timestamp.new(seconds: now.to_i, nanos: now.nsec)
  )
end

target = ARGV[0] || ENV.fetch('TRACKSTORE_TARGET', 'localhost:50051')
scope = ARGV[1] || 'examples'
client = Trackstore::V1::TrackEventsService::Stub.new(target, :this_channel_is_insecure, timeout: 30)
device = "ruby-example-#{Process.clock_gettime(Process::CLOCK_REALTIME, :nanosecond)}"

begin
  tracked = client.track(Trackstore::V1::TrackRequest.new(scope: scope, events: [
    event(device, 'pageview', { 'Path' => '/home' }),
    event(device, 'purchase', { 'Sku' => 'sku-1', 'Price' => 9.5 })
  ]))
  puts "tracked #{tracked.track_ids.to_a}"

  query = "Events | where DeviceId == '#{device}' | project TrackId, EventType, Payload"
  preview = client.preview(Trackstore::V1::PreviewRequest.new(scope: scope, query: query))
  preview.items.each { |item| puts "previewed #{item.to_json}" }
  abort "Preview returned #{preview.count} events, not the 2 tracked" unless preview.count == 2

  deleted = client.delete(Trackstore::V1::DeleteRequest.new(scope: scope, track_id: tracked.track_ids[0]))
  puts "deleted #{deleted.track_id}"
rescue GRPC::BadStatus => e
  abort "example failed: #{e.class.name.split('::').last} (#{e.code}): #{e.details}"
end
