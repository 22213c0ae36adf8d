// Fan-out and send-throughput load for the realtime benchmark (crates/plaza-server/
// benches/realtime.rs runs it against a release server on loopback):
//   node bench-fanout.js URL[,URL...] OWNER_TOKEN SPACE SUBSCRIBERS MESSAGES [KIND]
// SUBSCRIBERS anonymous guests connect (socket.io-client 4), subscribe (which joins
// them), then the owner sends MESSAGES messages as fast as the server acknowledges
// them. With several URLs (the nodes of one deployment), subscribers are spread over
// them round-robin and the owner sends through the first. KIND "presence" sends
// presence events instead of messages: relayed, never stored, so the run measures
// fan-out alone (they are sent in bursts of 20, without waiting for answers, since
// presence has none). Prints one JSON line.
const { io } = require('socket.io-client-v4');
const [urlList, ownerToken, space, subscribers, messages, kind = 'message'] = process.argv.slice(2);
const urls = urlList.split(',');
const url = urls[0];
const N = Number(subscribers);
const M = Number(messages);
const now = () => Number(process.hrtime.bigint()) / 1e6;
// Where a run is, for the report if it never finishes.
const progress = { tokens: 0, connected: 0, subscribed: 0, subscribeFailed: 0, disconnected: 0, sent: 0, acked: 0, delivered: 0 };

async function guestToken(i) {
  const response = await fetch(url + '/api/anonymous/auth', {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ displayname: 'Guest ' + i }),
  });
  return (await response.json()).token;
}

function connect(token, node = 0) {
  return io(urls[node % urls.length] + '/chat', { auth: { token, tokenType: 'jwt' }, transports: ['websocket'], forceNew: true, reconnection: false });
}

async function main() {
  const tokens = [];
  for (let i = 0; i < N; i += 50) {
    progress.tokens = i;
    tokens.push(...await Promise.all(Array.from({ length: Math.min(50, N - i) }, (_, k) => guestToken(i + k))));
  }
  const sentAt = new Map();
  const deliveries = new Map();
  const latencies = [];
  let delivered = 0;
  let allDone;
  const done = new Promise((resolve) => { allDone = resolve; });
  const subscribedAll = [];
  const sockets = tokens.map((token, i) => {
    const socket = connect(token, i);
    subscribedAll.push(new Promise((resolve, reject) => {
      socket.on('connect', () => { progress.connected += 1; socket.emit('SUBSCRIBE_CHANNEL', { channel: { _id: space, type: 'topic' } }); });
      socket.on('disconnect', () => { progress.disconnected += 1; });
      socket.once('CHANNEL_SUBSCRIBED', () => { progress.subscribed += 1; resolve(); });
      socket.once('SUBSCRIBE_CHANNEL_FAILED', (p) => { progress.subscribeFailed += 1; progress.lastFailure = p.error; reject(new Error(JSON.stringify(p.error))); });
      socket.once('connect_error', reject);
    }));
    socket.on(kind === 'presence' ? 'PRESENCE_EVENT_RESPONSE' : 'MESSAGE_SENT', (m) => {
      const start = sentAt.get(m.content.bodyText);
      if (start === undefined) return;
      const count = (deliveries.get(m.content.bodyText) || 0) + 1;
      deliveries.set(m.content.bodyText, count);
      if (count === N) latencies.push(now() - start);
      delivered += 1;
      progress.delivered = delivered;
      if (delivered === N * M) allDone();
    });
    return socket;
  });
  const connectStart = now();
  await Promise.all(subscribedAll);
  const connectMs = now() - connectStart;

  const sender = connect(ownerToken);
  await new Promise((resolve) => sender.on('connect', resolve));
  sender.emit('SUBSCRIBE_CHANNEL', { channel: { _id: space, type: 'topic' } });
  await new Promise((resolve) => sender.once('CHANNEL_SUBSCRIBED', resolve));
  // Send throughput: one message in flight at a time would measure latency; keep a
  // window of 32 outstanding sends, each acknowledged by the sender's own MESSAGE_SENT.
  let acked = 0;
  const failures = [];
  let next = 0;
  const sendStart = now();
  const sentAll = new Promise((resolve) => {
    const send = () => {
      const text = 'msg ' + next++;
      sentAt.set(text, now());
      sender.emit('SEND_MESSAGE', { category: 'chat', content: { bodyText: text }, topicId: space });
    };
    const answered = () => {
      acked += 1;
      if (next < M) send();
      if (acked === M) resolve();
    };
    if (kind === 'presence') {
      const burst = () => {
        for (let i = 0; i < 20 && next < M; i++) {
          const text = 'event ' + next++;
          sentAt.set(text, now());
          sender.emit('SEND_PRESENCE_EVENT', { category: 'app.event.presence.party.online', topicId: space, content: { bodyText: text }, receivers: [] });
          acked += 1;
        }
        if (next < M) setTimeout(burst, 1); else resolve();
      };
      burst();
      return;
    }
    sender.on('MESSAGE_SENT', answered);
    // A refused send is answered too (and counted), so the run never stalls.
    sender.on('SEND_MESSAGE_FAILED', (p) => { failures.push(p.error); answered(); });
    for (let i = 0; i < Math.min(32, M); i++) send();
  });
  await sentAll;
  const sendMs = now() - sendStart;
  await Promise.race([done, new Promise((r) => setTimeout(r, 60000))]);
  const fanoutMs = now() - sendStart;
  latencies.sort((a, b) => a - b);
  const pct = (p) => latencies.length ? latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))] : null;
  console.log(JSON.stringify({
    kind, nodes: urls.length, subscribers: N, messages: M, connectAndSubscribeMs: Math.round(connectMs),
    sendsPerSecond: Math.round(M / (sendMs / 1000)),
    deliveriesPerSecond: Math.round(delivered / (fanoutMs / 1000)), delivered, expected: N * M,
    allReceivedMsP50: pct(0.5) && +pct(0.5).toFixed(1), allReceivedMsP99: pct(0.99) && +pct(0.99).toFixed(1),
    failedSends: failures.length, firstFailure: failures[0] || null,
  }));
  for (const socket of sockets) socket.close();
  sender.close();
  process.exit(0);
}
main().catch((e) => { console.log(JSON.stringify({ error: String(e && e.stack || e) })); process.exit(1); });
setTimeout(() => { console.log(JSON.stringify({ error: 'no result within 5 minutes', progress })); process.exit(1); }, 60000);
