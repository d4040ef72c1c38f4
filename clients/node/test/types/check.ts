// Compiled by test/types.test.js with `tsc --noEmit --strict`: uses of the declared API that
// must type-check, and misuses (@ts-expect-error) that must not.
import { Client, TrackstoreError, status, type TrackEvent, type PreviewResult, type ListResult } from '../..';

async function use(): Promise<void> {
  const client = new Client({ target: 'localhost:50051', apiKey: 'k', scope: 'shop', deadlineMs: 5000 });
  const event: TrackEvent = { EventType: 'pageview', User: { Email: 'a@example.com' }, Payload: { n: [1, 'x', null] }, EventTime: new Date() };
  const ids: string[] = await client.track([event], { scope: 'other' });
  const preview: PreviewResult = await client.preview('Events | take 1');
  const truncated: boolean = preview.truncated;
  const page: ListResult = await client.list({ filter: "EventType eq 'pageview'", orderby: 'EventTime desc', skip: 0, top: 10 });
  const time: string = page.items[0].EventTime;
  const deleted: string = await client.delete(ids[0]);
  const batch: string[] = await client.batchDelete(ids, { allowMissing: true });
  const streamed: number = (await client.trackStream([[event], [event]])).eventCount;
  const stats: string[] = (await client.stats()).promotedKeys;
  try {
    await client.compact();
  } catch (error) {
    if (error instanceof TrackstoreError && error.code === status.NOT_FOUND) {
      const reason: string | null = error.reason;
      const delay: number | null = error.retryDelayMs;
      console.log(reason, delay, error.fieldViolations[0].field, error.details[0].type);
    }
  }
  console.log(truncated, time, deleted, batch, streamed, stats);
  client.close();

  // @ts-expect-error: events have the Profile Store names only
  await client.track([{ event_type: 'pageview' }]);
  // @ts-expect-error: User is a JSON object, not a string
  await client.track([{ User: 'a@example.com' }]);
  // @ts-expect-error: the query is a string
  await client.preview({ query: 'Events' });
  // @ts-expect-error: allowMissing is a boolean
  await client.batchDelete(['x'], { allowMissing: 'yes' });
  // @ts-expect-error: list's options are named
  await client.list("EventType eq 'x'");
}

void use;
